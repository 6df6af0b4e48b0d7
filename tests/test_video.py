"""Video transfer (ganstyle/video.py, `pipe.transfer_video`, `ganstyle transfer clip.mp4`) on a
2 s clip with audio written on the fly: frames, timestamps, frame rate and audio kept, one
style code for every frame, low flicker, limits checked before decoding, and a clear
message when PyAV is missing."""

import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.inference import video
from ganstyle.cli import main

av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
from video_clip import write_clip  # noqa: E402


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """2 s, 12 fps, 96x64, H.264 + AAC in MP4."""
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


def audio_of(path):
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.sample_rate, samples


def test_probe_reads_the_header(clip):
    info = video.probe_video(clip)
    assert info == {"width": 96, "height": 64, "fps": 12.0, "seconds": 2.0, "frames": 24, "audio": "aac"}


def test_output_size_is_even_and_never_upscaled():
    assert video.output_size(96, 64, 512) == (96, 64)
    assert video.output_size(1920, 1080, 512) == (512, 288)
    assert video.output_size(101, 57, 50) == (50, 28)


def test_transfer_video_keeps_frames_timing_and_audio(pipe, clip, tmp_path):
    calls = []
    out = pipe.transfer_video(clip, tmp_path / "painted.mp4", style="square", seed=3,
                              callback=lambda done, total: calls.append((done, total)))
    assert out == tmp_path / "painted.mp4"
    source, source_times = video.read_frames(clip)
    painted, painted_times = video.read_frames(out)
    assert painted.shape == source.shape == (24, 64, 96, 3)
    assert painted_times == pytest.approx(source_times)
    assert video.probe_video(out)["fps"] == 12.0
    assert calls == [(i, 24) for i in range(1, 25)]
    codec, rate, samples = audio_of(out)
    assert (codec, rate) == ("aac", 16000) and abs(samples - 2 * 16000) <= 2048  # 2 s, up to AAC padding
    assert np.abs(painted.astype(int) - source).mean() > 5  # the frames were repainted


def test_every_frame_gets_the_same_style_code(pipe, clip, tmp_path, monkeypatch):
    """Every frame is painted with the seed's code, the one `transfer(..., seed)` uses."""
    codes = []
    paint = pipe._paint
    monkeypatch.setattr(pipe, "_paint", lambda image, content, code, *args: codes.append(code) or paint(
        image, content, code, *args))
    pipe.transfer_video(clip, tmp_path / "same.mp4", style="triangle", seed=5)
    assert len(codes) == 24 and all(torch.equal(code, codes[0]) for code in codes)
    pipe.transfer(Image.new("RGB", (32, 32)), style="triangle", seed=5)
    pipe.transfer(Image.new("RGB", (32, 32)), style="triangle", seed=6)
    assert torch.equal(codes[24], codes[0]) and not torch.equal(codes[25], codes[0])


def test_a_still_clip_stays_still(pipe, tmp_path):
    """No change of its own from frame to frame: a clip of one repeated picture is painted into
    (nearly) one repeated picture. (The flicker of the shipped model on a moving clip is in
    benchmarks/video.py.)"""
    clip = write_clip(tmp_path / "still.mp4", seconds=1.0, speed=0)
    painted = video.read_frames(pipe.transfer_video(clip, tmp_path / "still-out.mp4", style="square", seed=1))[0]
    change = np.abs(np.diff(painted.astype(np.float32), axis=0)).mean()
    assert change < 1.0, change


def test_flicker_measures_added_change():
    rng = np.random.default_rng(0)
    source = np.repeat(rng.integers(0, 200, (1, 8, 8, 3)), 5, axis=0)
    source[:, :, :4] += np.arange(5)[:, None, None, None] * 10  # a moving edge
    assert video.flicker(source, source) == pytest.approx(1.0)
    noisy = source + rng.integers(0, 40, source.shape)
    assert video.flicker(noisy, source) > 2
    with pytest.raises(ValueError, match="same number"):
        video.flicker(source[:3], source)


def test_max_side_downscales_and_audio_is_reencoded_when_mp4_cannot_hold_it(pipe, tmp_path):
    clip = write_clip(tmp_path / "pcm.mkv", seconds=1.0, size=(128, 96), audio_codec="pcm_s16le", container="matroska")
    out = pipe.transfer_video(clip, tmp_path / "small.mp4", style="circle", seed=0, max_side=64)
    assert video.read_frames(out)[0].shape == (12, 48, 64, 3)
    assert audio_of(out)[0] == "aac"


def test_clip_without_audio(pipe, tmp_path):
    clip = write_clip(tmp_path / "silent.mp4", seconds=0.5, audio=False)
    out = pipe.transfer_video(clip, tmp_path / "silent-out.mp4", style="circle", seed=0)
    assert audio_of(out) is None and len(video.read_frames(out)[0]) == 6


@pytest.mark.parametrize("limit, value, match", [
    ("MAX_VIDEO_SECONDS", 1.5, "lasts 2.0 s; clips of up to 1.5 s"),
    ("MAX_VIDEO_FRAMES", 20, "has 24 frames; clips of up to 20 frames"),
    ("MAX_VIDEO_INPUT_SIDE", 80, "is 96x64; clips of up to 80 px"),
    ("MAX_VIDEO_BYTES", 1000, "MB; clips of up to 0 MB"),
])
def test_limits_are_checked_before_decoding(pipe, clip, tmp_path, monkeypatch, limit, value, match):
    monkeypatch.setattr(video, limit, value)
    painted = []
    with pytest.raises(video.VideoError, match=match):
        video.restyle_video(clip, tmp_path / "refused.mp4", painted.append)
    with pytest.raises(video.VideoError, match=match):
        pipe.transfer_video(clip, tmp_path / "refused.mp4", style="circle")
    assert not painted and not (tmp_path / "refused.mp4").exists()


def test_header_that_hides_the_length_is_caught_while_decoding(pipe, tmp_path, monkeypatch):
    clip = write_clip(tmp_path / "long.mp4", seconds=1.0)
    header = {**video.probe_video(clip), "seconds": None, "frames": None}  # a header without a length
    monkeypatch.setattr(video, "probe_video", lambda path: header)
    monkeypatch.setattr(video, "MAX_VIDEO_FRAMES", 5)
    with pytest.raises(video.VideoError, match="longer than its header says"):
        video.restyle_video(clip, tmp_path / "x.mp4", lambda im: im)


@pytest.mark.parametrize("content, match", [
    (b"", "is empty"),
    (b"this is not a video" * 10, "not a video file that can be read"),
])
def test_bad_files_are_refused(pipe, tmp_path, content, match):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(video.VideoError, match=match):
        pipe.transfer_video(path, tmp_path / "out.mp4", style="circle")
    with pytest.raises(video.VideoError, match="no such file"):
        pipe.transfer_video(tmp_path / "missing.mp4", tmp_path / "out.mp4", style="circle")


def test_bad_arguments(pipe, clip, tmp_path):
    with pytest.raises(video.VideoError, match="ending in .mp4"):
        pipe.transfer_video(clip, tmp_path / "out.gif", style="circle")
    with pytest.raises(ValueError, match="max_side must be between 16 and 1024"):
        pipe.transfer_video(clip, tmp_path / "out.mp4", style="circle", max_side=8)
    with pytest.raises(ValueError, match="unknown style 'cubism'"):
        pipe.transfer_video(clip, tmp_path / "out.mp4", style="cubism")
    with pytest.raises(TypeError, match="callback must be callable"):
        pipe.transfer_video(clip, tmp_path / "out.mp4", style="circle", callback=3)


def test_missing_pyav_says_how_to_install(pipe, clip, tmp_path, monkeypatch, capsys, tiny_dir):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"pip install av"):
        pipe.transfer_video(clip, tmp_path / "out.mp4", style="circle")
    with pytest.raises(SystemExit) as exit_:
        main(["transfer", str(clip), "--style", "circle", "--model", str(tiny_dir), "--out", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "pip install av" in err


def test_cli_paints_a_clip_with_a_progress_bar(pipe, clip, tmp_path, capsys, tiny_dir, monkeypatch):
    """The CLI paints the frames the API paints, bit for bit. Compared before encoding: libx264's
    assembly is not deterministic on every CPU (on an AVX-512 EPYC the same frames encode to a
    few different files, 0.01-0.53 grey levels apart after decoding; with x264's `asm=0` they do not)."""
    from ganstyle.inference import pipeline

    painted = []

    def recording(source, out, paint, **kwargs):
        frames = []
        painted.append(frames)

        def keep(image):
            frames.append(np.asarray(paint(image)))
            return Image.fromarray(frames[-1])

        return video.restyle_video(source, out, keep, **kwargs)

    monkeypatch.setattr(pipeline, "restyle_video", recording)
    main(["transfer", str(clip), "--style", "square", "--seed", "3", "--model", str(tiny_dir),
          "--out", str(tmp_path / "clips")])
    out, err = capsys.readouterr()
    written = tmp_path / "clips" / "clip-square.mp4"
    assert out.strip() == str(written) and "painting frames" in err and "24/24" in err
    assert video.read_frames(written)[0].shape == (24, 64, 96, 3)
    pipe.transfer_video(clip, tmp_path / "api.mp4", style="square", seed=3)
    pipe.transfer_video(clip, tmp_path / "seed4.mp4", style="square", seed=4)
    cli, api, seed4 = (np.stack(frames) for frames in painted)
    assert np.array_equal(cli, api) and not np.array_equal(cli, seed4)
    with pytest.raises(SystemExit) as exit_:
        main(["transfer", str(clip), "--style", "square", "-n", "2", "--model", str(tiny_dir),
              "--out", str(tmp_path / "x.mp4")])
    assert exit_.value.code == 2 and "a clip is painted once" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["transfer", str(clip), "--style", "square", "--paint-side", "64", "--model", str(tiny_dir),
              "--out", str(tmp_path / "x.mp4")])
    assert exit_.value.code == 2 and "--paint-side is for photos" in capsys.readouterr().err
