"""A tiny test clip written on the fly with PyAV: a square gliding over a gradient, with a
sine tone as AAC audio (H.264 video in MP4, like a phone's clip)."""

from fractions import Fraction
from pathlib import Path

import numpy as np


def write_clip(path, seconds: float = 2.0, fps: int = 12, size=(96, 64), audio: bool = True,
               codec: str = "libx264", audio_codec: str = "aac", container: str = None, speed: int = 2) -> Path:
    """Write the clip to `path` and return it. The square moves `speed` px per frame."""
    import av

    width, height = size
    frames = round(seconds * fps)
    y, x = np.mgrid[0:height, 0:width]
    background = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 128)], -1).astype(np.uint8)
    with av.open(str(path), "w", format=container) as out:
        video = out.add_stream(codec, rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream(audio_codec, rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(frames):
            image = background.copy()
            left = (4 + speed * i) % (width - 16)
            image[20:36, left:left + 16] = (240, 240, 40)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if sound is not None:
            rate, chunk = 16000, 1024
            t = np.arange(round(seconds * rate)) / rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(tone), chunk):
                piece = tone[None, start:start + chunk]
                frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
                out.mux(sound.encode(frame))
            out.mux(sound.encode())
    return Path(path)
