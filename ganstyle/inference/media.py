"""Pictures made from the pipeline's images: animations (GIF, MP4), the style-mixing grid,
and colour preservation."""

import importlib.util
import numbers
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_FPS = 100
"""Most frames per second `save_animation` writes (GIF frame times are in hundredths of a second)."""


def check_fps(fps):
    """`fps` as an int, or a Fraction when it is not whole; refuses non-numbers, NaN, and
    values outside (0, MAX_FPS] (0 divided by zero, negatives broke the GIF writer)."""
    if isinstance(fps, (bool, np.bool_)) or not isinstance(fps, numbers.Real):
        raise TypeError(f"fps must be a number, got {type(fps).__name__}")
    if not 0 < float(fps) <= MAX_FPS:
        raise ValueError(f"fps must be above 0 and at most {MAX_FPS}, got {fps}")
    return int(fps) if float(fps).is_integer() else Fraction(float(fps)).limit_denominator(1001)


def save_animation(frames, path, fps: int = 8, boomerang: bool = True) -> Path:
    """Write frames as an animated GIF (or MP4 when `path` ends in .mp4 and imageio with its
    ffmpeg or PyAV backend is installed). `boomerang` plays forward then back, for a
    seamless loop. Refuses no frames, a bad `fps`, other suffixes and MP4 without a backend."""
    if not frames:
        raise ValueError("no frames to save")
    fps = check_fps(fps)
    path = Path(path)
    sequence = list(frames) + (list(frames[-2:0:-1]) if boomerang and len(frames) > 2 else [])
    if path.suffix.lower() == ".mp4":
        try:
            import imageio.v3 as iio
        except ImportError:
            iio = None
        # imageio alone cannot write MP4: it needs its ffmpeg (or PyAV) backend.
        if iio is None or not any(_installed(m) for m in ("imageio_ffmpeg", "av")):
            raise ValueError("writing MP4 needs `pip install imageio imageio-ffmpeg`; use .gif")
        # codec named: imageio's PyAV plugin has no default and fails inside PyAV without one
        iio.imwrite(path, np.stack([np.asarray(f.convert("RGB")) for f in sequence]), fps=fps, codec="libx264")
        return path
    if path.suffix.lower() != ".gif":
        raise ValueError(f"animation path must end in .gif or .mp4, got {path.name}")
    sequence = [gif_frame(f) for f in sequence]
    sequence[0].save(path, save_all=True, append_images=sequence[1:], duration=round(1000 / fps), loop=0)
    return path


def gif_frame(frame: Image.Image) -> Image.Image:
    """A palette version of an RGB frame for a GIF: fast octree palette plus Floyd-Steinberg
    dithering. Pillow's default (median cut, no dithering) takes ~30x longer and bands."""
    frame = frame.convert("RGB")
    palette = frame.quantize(256, method=Image.Quantize.FASTOCTREE)
    return frame.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def mixing_grid(rows: list, columns: list, cells: list, gap: int = 6) -> Image.Image:
    """A style-mixing grid: `columns` (the fine sources) across the top, `rows` (the coarse
    sources) down the left, `cells[i][j]` (row i mixed with column j) inside, all square
    images of one size, the sources set apart by `gap` pixels, with a legend in the corner."""
    cell = rows[0].width
    edge = cell + gap
    grid = Image.new("RGB", (edge + len(columns) * cell, edge + len(rows) * cell), "white")
    ImageDraw.Draw(grid).text((8, 8), "rows: coarse\n(layout)\n\ncolumns: fine\n(colour, texture)",
                              fill=(60, 60, 60), font=_label_font())
    for j, image in enumerate(columns):
        grid.paste(image, (edge + j * cell, 0))
    for i, (image, row) in enumerate(zip(rows, cells)):
        grid.paste(image, (0, edge + i * cell))
        for j, mixed in enumerate(row):
            grid.paste(mixed, (edge + j * cell, edge + i * cell))
    return grid


def _label_font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def keep_colors(content: Image.Image, stylized: Image.Image) -> Image.Image:
    """Luminance-only transfer: the stylized image's brightness with the content's colours
    (YCbCr chroma), the classic colour-preservation of Gatys et al."""
    y, _, _ = stylized.convert("YCbCr").split()
    _, cb, cr = content.resize(stylized.size).convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")
