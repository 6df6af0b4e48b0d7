"""Render the figures shown in the README and the model card.

    python docs/make_figures.py                   # docs/generation.jpg, interpolation.jpg, mixing.jpg
    python docs/make_figures.py --comparison      # docs/comparison.jpg and docs/comparison/<photo>.jpg

The sample grids show what the generator draws, at its own resolution (at least 96 px per
cell), truncation 0.7 as in the app. Transfer is shown by the comparison sheets
(ganstyle/evaluation/comparison.py): the real photographs of examples/ (scikit-image sample
data, never in the training data) at 512 px on the long side, each in every painter style,
ganstyle beside Magenta, which is given each painter's mean style vector over the train-split
paintings of `--paintings`. (The painter paints a photo at up to 384 px and enlarges the
painting, so a grid of 128 px thumbnails would show it at a scale it was never meant for.)
"""

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from ganstyle import StylePipeline
from ganstyle.data import DataError
from ganstyle.evaluation.comparison import save_jpeg, write_comparison


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


def example_photos() -> list:
    """The real photographs of examples/ (`photo-*` files of its manifest), in manifest order."""
    folder = Path(__file__).resolve().parent.parent / "examples"
    manifest = json.loads((folder / "examples.json").read_text(encoding="utf-8"))
    return [folder / e["file"] for e in manifest["photos"] if e["file"].startswith("photo-")]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="checkpoints/ganstyle-styles-256")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--comparison", action="store_true",
                        help="render the comparison sheets (ganstyle beside Magenta) instead of the sample grids")
    parser.add_argument("--paintings", default="../shared/datasets/styles256",
                        help="dataset whose train-split paintings give Magenta each painter's mean style vector "
                             "(--comparison)")
    parser.add_argument("--size", type=int, default=512, help="long side of every cell of a comparison sheet")
    parser.add_argument("--seed", type=int, default=0, help="seed of ganstyle's transfers (--comparison)")
    parser.add_argument("--no-magenta", action="store_true", help="comparison sheets with ganstyle's columns only")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = StylePipeline.from_pretrained(args.model)
    if args.comparison:
        try:
            written = write_comparison(pipe, example_photos(), out, Path(args.model).name, size=args.size,
                                       seed=args.seed, data=args.paintings, magenta=not args.no_magenta,
                                       log=lambda message: print(message, file=sys.stderr))
        except DataError as error:
            parser.error(str(error))
        print("\n".join(str(path) for path in written))
        return

    # generated images at their own resolution (at least 96 px, so a 64 px model's stay readable)
    cell = max(96, pipe.generator_resolution)
    rows = [pipe.generate(style, n=8, seed=0, truncation=0.7) for style in pipe.styles]
    save_jpeg(grid(rows, cell, pipe.styles), out / "generation.jpg")

    rows = [pipe.interpolate(a, b, steps=8, seed=3, truncation=0.7)
            for a, b in zip(pipe.styles, pipe.styles[1:] + pipe.styles[:1])]
    labels = [f"{a} > {b}" for a, b in zip(pipe.styles, pipe.styles[1:] + pipe.styles[:1])]
    save_jpeg(grid(rows, cell, labels, label_width=130), out / "interpolation.jpg")

    coarse = [(s, 1) for s in pipe.styles]
    fine = [(s, 2) for s in pipe.styles]
    rows = [[pipe.mix(c, f) for f in fine] for c in coarse]
    save_jpeg(grid(rows, cell, [f"coarse {c[0]}" for c in coarse], label_width=110), out / "mixing.jpg")
    print(f"figures written to {out}/")


if __name__ == "__main__":
    main()
