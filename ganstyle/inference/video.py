"""Short video clips in and out: decode with PyAV, repaint every frame, encode H.264 MP4 with the audio kept.

PyAV (`pip install av`, or `pip install 'ganstyle[video]'`) binds FFmpeg's libraries and ships
them in its wheels, so no system ffmpeg is needed; it is optional, and every entry point
says how to install it when it is missing. The clip is checked against the limits below
from its file size and container header, before any frame is decoded, and again while
decoding (headers may lie or leave the duration out).

Every output frame keeps its input frame's timestamp, so the frame rate (constant or
variable) and the sync with the audio stay as they were. The audio is copied as it is when
MP4 can hold its codec (AAC, MP3, ALAC, Opus, FLAC) and re-encoded to AAC otherwise.
"""

import fractions
from pathlib import Path

import numpy as np
from PIL import Image

MAX_VIDEO_SECONDS = 10.0
"""Longest clip accepted (seconds)."""
MAX_VIDEO_FRAMES = 300
"""Most frames accepted (10 s at 30 fps); every frame is one pass of the translator."""
MAX_VIDEO_INPUT_SIDE = 1920
"""Largest input frame side (1080p); larger clips are refused before decoding."""
MAX_VIDEO_BYTES = 50 * 1024 * 1024
"""Largest input file (50 MB)."""
VIDEO_SIDE = 512
"""Default long side of the output frames (inputs are downscaled to it, never upscaled)."""
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")
COPIED_AUDIO = ("aac", "mp3", "alac", "opus", "flac")
"""Audio codecs an MP4 file holds as they are (copied without re-encoding)."""


class VideoError(ValueError):
    """A clip cannot be used: the message says which file and why (a limit, not a video...)."""


def import_av():
    """The `av` module, or an ImportError that says how to install it."""
    try:
        import av
    except ImportError:
        raise ImportError("video needs the optional package PyAV, which is not installed: "
                          "pip install av (or pip install 'ganstyle[video]')") from None
    return av


def is_video_path(value) -> bool:
    """Whether `value` is a path whose extension names a video container."""
    return isinstance(value, (str, Path)) and Path(value).suffix.lower() in VIDEO_EXTENSIONS


def probe_video(path) -> dict:
    """Check a clip against the limits from its file size and header alone, without decoding:
    {"width", "height", "fps", "seconds", "frames", "audio"} (seconds/frames None when the
    header does not say). Refuses (VideoError) missing or empty files, files over
    MAX_VIDEO_BYTES, files that are not videos, and clips over the side, length or frame limits."""
    av = import_av()
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes)")
    if size > MAX_VIDEO_BYTES:
        raise VideoError(f"{path.name} is {size / 2**20:.1f} MB; clips of up to {MAX_VIDEO_BYTES // 2**20} MB "
                         "are accepted (trim or compress it first)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path.name} has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            fps = stream.average_rate or stream.guessed_rate
            seconds = (float(stream.duration * stream.time_base) if stream.duration
                       else container.duration / av.time_base if container.duration else None)
            frames = stream.frames or (round(seconds * fps) if seconds and fps else None)
            audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    except av.FFmpegError as err:
        raise VideoError(f"{path.name} is not a video file that can be read ({err.strerror or err})") from None
    if not width or not height:
        raise VideoError(f"{path.name} has a video stream without a frame size")
    if max(width, height) > MAX_VIDEO_INPUT_SIDE:
        raise VideoError(f"{path.name} is {width}x{height}; clips of up to {MAX_VIDEO_INPUT_SIDE} px on the long "
                         "side are accepted (downscale it first)")
    if seconds is not None and seconds > MAX_VIDEO_SECONDS + 0.05:
        raise VideoError(f"{path.name} lasts {seconds:.1f} s; clips of up to {MAX_VIDEO_SECONDS:g} s are accepted "
                         "(trim it first)")
    if frames is not None and frames > MAX_VIDEO_FRAMES:
        raise VideoError(f"{path.name} has {frames} frames; clips of up to {MAX_VIDEO_FRAMES} frames are accepted "
                         "(trim it or lower its frame rate first)")
    return {"width": width, "height": height, "fps": float(fps) if fps else None, "seconds": seconds,
            "frames": frames, "audio": audio}


def output_size(width: int, height: int, max_side: int) -> tuple:
    """Frame size for the output: the input scaled to at most `max_side` on its long side (never
    up), both sides even (H.264 with 4:2:0 chroma needs it)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _video_codec(av) -> str:
    for name in ("libx264", "h264", "libopenh264"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # not built into this FFmpeg (UnknownCodecError and friends)
            continue
    raise ImportError("this PyAV build has no H.264 encoder; install the PyPI wheel: pip install --force-reinstall av")


def restyle_video(source, out, paint, max_side: int = VIDEO_SIDE, callback=None) -> Path:
    """Decode `source`, write `paint(frame)` of every frame (PIL RGB in, PIL RGB of the same
    size out) to the MP4 file `out` (H.264, yuv420p, fast start), with the source's audio and
    frame timestamps. `callback(done, total)` is called after each frame (`total` is the
    header's frame count, or the best estimate). Returns `out`."""
    av = import_av()
    info = probe_video(source)
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise VideoError(f"the painted clip is written as MP4; give a path ending in .mp4, got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    size = output_size(info["width"], info["height"], max_side)
    total = info["frames"] or MAX_VIDEO_FRAMES
    done = 0
    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4",
                                              options={"movflags": "+faststart"}) as dst:
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        fps = vin.average_rate or vin.guessed_rate or fractions.Fraction(25)
        vout = dst.add_stream(_video_codec(av), rate=fps)
        vout.width, vout.height, vout.pix_fmt = size[0], size[1], "yuv420p"
        vout.time_base = vin.time_base
        vout.codec_context.time_base = vin.time_base
        if vout.codec_context.name == "libx264":
            vout.options = {"crf": "20", "preset": "veryfast"}
        ain = src.streams.audio[0] if src.streams.audio else None
        aout, copy_audio = None, False
        if ain is not None:
            copy_audio = ain.codec_context.name in COPIED_AUDIO
            if copy_audio:
                aout = dst.add_stream_from_template(ain)
            else:
                aout = dst.add_stream("aac", rate=ain.codec_context.sample_rate or 48000)
                aout.layout = "mono" if ain.codec_context.channels == 1 else "stereo"
        start = None
        for packet in src.demux(*(s for s in (vin, ain) if s is not None)):
            if packet.stream is ain:
                if copy_audio:
                    if packet.dts is not None:
                        packet.stream = aout
                        dst.mux(packet)
                else:
                    for frame in packet.decode():
                        frame.pts = None
                        dst.mux(aout.encode(frame))
                continue
            for frame in packet.decode():
                done += 1
                seconds = float(frame.pts * frame.time_base) if frame.pts is not None else done / float(fps)
                start = seconds if start is None else start
                if done > MAX_VIDEO_FRAMES or seconds - start > MAX_VIDEO_SECONDS + 0.05:
                    raise VideoError(f"{Path(source).name} is longer than its header says; clips of up to "
                                     f"{MAX_VIDEO_SECONDS:g} s and {MAX_VIDEO_FRAMES} frames are accepted")
                picture = frame.to_image()
                if picture.size != size:
                    picture = picture.resize(size, Image.Resampling.LANCZOS)
                painted = av.VideoFrame.from_image(paint(picture).convert("RGB"))
                painted.pts, painted.time_base = frame.pts, frame.time_base
                dst.mux(vout.encode(painted))
                if callback is not None:
                    callback(done, max(total, done))
        dst.mux(vout.encode())
        if aout is not None and not copy_audio:
            dst.mux(aout.encode())
    if done == 0:
        out.unlink(missing_ok=True)
        raise VideoError(f"{Path(source).name} has no frames that can be decoded")
    return out


def read_frames(path) -> tuple:
    """All frames of a clip as a uint8 array (T, H, W, 3) and their timestamps in seconds (for
    tests and measurements)."""
    av = import_av()
    frames, times = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
    return np.stack(frames), times


def flicker(painted: np.ndarray, source: np.ndarray) -> float:
    """Frame-to-frame flicker of a painted clip relative to its source: the mean absolute
    difference between consecutive painted frames over that of the source frames (both
    (T, H, W, 3) of the same size). 1 means the painting changes exactly as much as the
    scene does; above 1, it adds change of its own (flicker); below 1, it smooths."""
    if len(painted) != len(source) or len(painted) < 2:
        raise ValueError("flicker needs two clips with the same number (at least 2) of frames")
    def change(frames):
        return float(np.abs(np.diff(frames.astype(np.float32), axis=0)).mean())
    return change(painted) / max(change(source), 1e-8)
