"""write_gif: bounded side, one palette shared by every frame, timing, refusals."""

import numpy as np
import pytest
from PIL import Image

from ganstyle.inference.media import GIF_MAX_SIDE, write_gif


def photo_frames(count=12, size=(1024, 768)):
    """Frames like a transfer interpolation: a smooth picture with some texture whose colours
    drift from frame to frame."""
    y, x = np.mgrid[0:size[1], 0:size[0]].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(x / 37 + c) * np.cos(y / 23 - c) + 20 * np.sin(x / 3 + y / 5)
                     for c in (0.0, 1.3, 2.6)], axis=-1)
    frames = []
    for k in range(count):
        t = k / (count - 1)
        tint = np.array([40 * t, -30 * t, 60 * (1 - t)])
        frames.append(Image.fromarray(np.clip(base + tint, 0, 255).astype(np.uint8)))
    return frames


def colour_tables(data: bytes) -> tuple:
    """(has a global colour table, number of frames with a local one), read from the GIF
    block structure (GIF89a spec: image descriptor flags bit 7 = local colour table)."""
    def skip_sub_blocks(i):
        while data[i]:
            i += data[i] + 1
        return i + 1

    flags = data[10]
    has_global = bool(flags & 0x80)
    i, local = 13 + (3 << ((flags & 7) + 1) if has_global else 0), 0
    while data[i] != 0x3B:
        if data[i] == 0x21:  # extension: label, then sub-blocks
            i = skip_sub_blocks(i + 2)
        else:  # 0x2C image descriptor
            image_flags = data[i + 9]
            i += 10
            if image_flags & 0x80:
                local += 1
                i += 3 << ((image_flags & 7) + 1)
            i = skip_sub_blocks(i + 1)  # LZW minimum code size, then the image data
    return has_global, local


def read_frames(path):
    with Image.open(path) as gif:
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB"))
        return gif.size, gif.info["duration"], colour_tables(path.read_bytes()), frames


def test_large_frames_are_bounded_and_share_one_palette(tmp_path):
    frames = photo_frames()
    path = write_gif(frames, tmp_path / "big.gif", fps=10)
    size, duration, tables, decoded = read_frames(path)
    assert size == (GIF_MAX_SIDE, GIF_MAX_SIDE * 3 // 4) and len(decoded) == len(frames) and duration == 100
    assert tables == (True, 0)  # one global palette, no frame with its own
    # the picture survives the palette: close to the downscaled frame on average
    expected = np.asarray(frames[5].resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    assert np.abs(np.asarray(decoded[5], dtype=np.float64) - expected).mean() < 10  # dithering noise included
    # and the file is far smaller than full-size frames with a palette each
    own = tmp_path / "own.gif"
    frames[0].save(own, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert colour_tables(own.read_bytes())[1] > 0  # (the parser sees local palettes where there are some)
    assert path.stat().st_size < own.stat().st_size / 2


def test_small_frames_keep_their_size_and_exact_flat_colours(tmp_path):
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    frames = [Image.new("RGB", (40, 24), c) for c in colours]
    size, _, _, decoded = read_frames(write_gif(frames, tmp_path / "small.gif", fps=4, max_side=64))
    assert size == (40, 24)
    assert [d.getpixel((5, 5)) for d in decoded] == colours


@pytest.mark.parametrize("frames, kwargs, message", [
    ([], {}, "no frames"),
    ([Image.new("RGB", (8, 8)), Image.new("RGB", (9, 8))], {}, "same size"),
    ([Image.new("RGB", (8, 8))], {"fps": 0}, "fps"),
    ([Image.new("RGB", (8, 8))], {"max_side": 4}, "max_side"),
    ([Image.new("RGB", (8, 8))], {"colors": 1}, "colors"),
])
def test_bad_arguments_are_refused(tmp_path, frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_gif(frames, tmp_path / "x.gif", **kwargs)
    assert not (tmp_path / "x.gif").exists()
