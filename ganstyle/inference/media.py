"""Pictures made from the pipeline's images: animations (GIF, MP4), the style-mixing grid,
and colour preservation.

GIFs are bounded: a GIF of full-size photo frames, each with its own 256-colour palette, runs
to megabytes (8.2 MB for 30 frames of 1024x768). `write_gif` downscales frames to at most
`GIF_MAX_SIDE` px on the long side and gives them one palette computed from all of them, so
the colours do not flicker between frames (3.2 MB for the same frames, 512x384).
"""

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


GIF_MAX_SIDE = 512
"""Longest side of a written GIF; larger frames are downscaled (aspect ratio kept)."""
GIF_COLORS = 256
"""Colours of the palette all frames share (GIF's maximum)."""


def save_animation(frames, path, fps: int = 8, boomerang: bool = True) -> Path:
    """Write frames as an animated GIF (or MP4 when `path` ends in .mp4 and imageio with its
    ffmpeg or PyAV backend is installed). `boomerang` plays forward then back, for a
    seamless loop. GIFs go through `write_gif` (at most GIF_MAX_SIDE px, one shared palette).
    Refuses no frames, a bad `fps`, other suffixes and MP4 without a backend."""
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
    return write_gif(sequence, path, fps=fps)


def fit_side(image: Image.Image, max_side: int) -> Image.Image:
    """`image` downscaled (Lanczos) so its long side is at most `max_side`; smaller images
    are returned as they are."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def shared_palette(frames, colors: int = GIF_COLORS) -> Image.Image:
    """A palette ("P") image whose `colors` colours are chosen from all `frames` at once
    (median cut over a montage of small copies of them)."""
    thumbs = [fit_side(frame.convert("RGB"), 128) for frame in frames]
    montage = Image.new("RGB", (max(t.width for t in thumbs), sum(t.height for t in thumbs)))
    y = 0
    for thumb in thumbs:
        montage.paste(thumb, (0, y))
        y += thumb.height
    return montage.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)


def write_gif(frames, path, fps: int = 8, max_side: int = GIF_MAX_SIDE, colors: int = GIF_COLORS) -> Path:
    """Write `frames` (PIL images of one size) as a looping GIF at `fps` frames per second,
    at most `max_side` px on the long side, all frames on one shared palette of `colors`
    colours with Floyd-Steinberg dithering (no banding; a palette per frame would flicker and
    cost a colour table per frame). Returns the path.

    Refuses (ValueError) an empty sequence, frames of different sizes, a bad `fps`
    (`check_fps`), `max_side` < 8 and `colors` outside 2-256."""
    frames = list(frames)
    if not frames:
        raise ValueError("no frames to save")
    if len({frame.size for frame in frames}) != 1:
        raise ValueError(f"all frames must have the same size, got {sorted({f.size for f in frames})}")
    fps = check_fps(fps)
    if max_side < 8 or not 2 <= colors <= 256:
        raise ValueError(f"max_side must be >= 8 and colors between 2 and 256, got {max_side} and {colors}")
    frames = [fit_side(frame.convert("RGB"), max_side) for frame in frames]
    palette = shared_palette(frames, colors)
    indexed = [frame.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG) for frame in frames]
    path = Path(path)
    # palette= makes Pillow write it once, as the global colour table, not once per frame
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=round(1000 / fps), loop=0,
                    optimize=False, palette=palette.palette)
    return path


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
