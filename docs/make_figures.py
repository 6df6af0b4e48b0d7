"""Render the sample grids shown in the README and the model card.

    python docs/make_figures.py --model checkpoints/ganstyle-styles-64 --data ../shared/datasets/styles

Content photos for the transfer grid come from the validation split of the dataset (never
trained on); they are rendered small into the figure only.
"""

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from ganstyle import StylePipeline
from ganstyle.data import find_style_folders
from ganstyle.imageio import open_image


def grid(rows, cell: int, labels=None, label_width: int = 80) -> Image.Image:
    """Paste rows of images into one picture, with an optional label per row."""
    offset = label_width if labels else 0
    width = offset + cell * max(len(r) for r in rows)
    canvas = Image.new("RGB", (width, cell * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for y, row in enumerate(rows):
        if labels:
            draw.text((6, y * cell + cell // 2 - 6), labels[y], fill="black")
        for x, image in enumerate(row):
            canvas.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (offset + x * cell, y * cell))
    return canvas


def save_small(image: Image.Image, path: Path) -> None:
    """PNG with a 256-colour palette: a quarter of the size, and these figures stay small in git."""
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="checkpoints/ganstyle-styles-64")
    parser.add_argument("--data", default="../shared/datasets/styles")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--source-style", default="photo")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = StylePipeline.from_pretrained(args.model)

    rows = [pipe.generate(style, n=8, seed=0, truncation=0.7) for style in pipe.styles]
    save_small(grid(rows, 96, pipe.styles), out / "generation.png")

    targets = [s for s in pipe.styles if s != args.source_style]
    photos = find_style_folders(args.data, "val")[args.source_style][:5]
    rows = []
    for path in photos:
        content = open_image(path)
        rows.append([content] + [pipe.transfer(content, style=s, seed=0)[0] for s in targets])
    body = grid(rows, 128)
    header = Image.new("RGB", (128 * (len(targets) + 1), 20), "white")
    draw = ImageDraw.Draw(header)
    for i, name in enumerate([args.source_style] + targets):
        draw.text((i * 128 + 6, 4), name, fill="black")
    full = Image.new("RGB", (body.width, body.height + 20), "white")
    full.paste(header, (0, 0))
    full.paste(body, (0, 20))
    save_small(full, out / "transfer.png")

    rows = [pipe.interpolate(a, b, steps=8, seed=3, truncation=0.7)
            for a, b in zip(pipe.styles, pipe.styles[1:] + pipe.styles[:1])]
    labels = [f"{a} > {b}" for a, b in zip(pipe.styles, pipe.styles[1:] + pipe.styles[:1])]
    save_small(grid(rows, 96, labels, label_width=130), out / "interpolation.png")

    coarse = [(s, 1) for s in pipe.styles]
    fine = [(s, 2) for s in pipe.styles]
    rows = [[pipe.mix(c, f) for f in fine] for c in coarse]
    save_small(grid(rows, 96, [f"coarse {c[0]}" for c in coarse], label_width=110), out / "mixing.png")
    print(f"figures written to {out}/")


if __name__ == "__main__":
    main()
