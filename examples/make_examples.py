"""Write the example images the app (and the notebook) offer, and their manifest.

    python examples/make_examples.py                      # drawn scenes + renders of the default model
    python examples/make_examples.py --model user/repo    # renders of another model
    python examples/make_examples.py --no-render          # drawn scenes only

Only images the project may ship end up here:
- `photo-*.jpg`: real photographs from scikit-image's sample data, each public domain or
  CC0 (the licence is in examples.json), copied when scikit-image is installed;
- `clip-*.mp4`: a 2 s camera pan across one of those photographs (for the app's Video tab),
  written when PyAV is installed;
- `scene-*.jpg`: "photos" drawn from code below (gradients, shapes, noise): always written,
  so photo examples exist for any model;
- `ref-<style>.png`: images rendered by the model itself (one per style, fixed seeds),
  usable as style references. They are written only when the model can be loaded: run
  this script again once the default checkpoint (checkpoints/ganstyle-styles-256) exists.

Never copy dataset images (../shared) here. `examples.json` lists what exists; app.py reads it.
"""

import argparse
import json
import math
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = (384, 288)
REFERENCE_SEEDS = {"cezanne": 3, "monet": 5, "ukiyoe": 2, "vangogh": 7}
"""Seed of the rendered reference of each style (other styles use seed 0)."""


def _gradient(size, top, bottom):
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return image


def _ridge(rng, width, base, amplitude, roughness=5):
    """Points of a mountain ridge line across the image."""
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(roughness)]
    points = []
    for x in range(0, width + 8, 8):
        y = base + sum(amplitude / (k + 1) * math.sin(x / width * math.pi * (k + 1.3) + phases[k])
                       for k in range(roughness))
        points.append((x, y))
    return points


def _finish(image, rng):
    """Soften and add sensor-like noise so drawn scenes look less flat."""
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    noise = Image.effect_noise(image.size, 10).convert("RGB")
    return Image.blend(image, noise, 0.06)


def scene_lake(rng):
    w, h = SIZE
    image = _gradient(SIZE, (250, 170, 110), (90, 110, 170))
    draw = ImageDraw.Draw(image)
    draw.ellipse([w * 0.62, h * 0.22, w * 0.74, h * 0.38], fill=(255, 224, 160))
    horizon = h * 0.6
    for base, amp, colour in ((h * 0.42, 26, (96, 86, 120)), (h * 0.5, 18, (60, 62, 88))):
        draw.polygon(_ridge(rng, w, base, amp) + [(w, horizon), (0, horizon)], fill=colour)
    water = _gradient((w, h - round(horizon)), (150, 130, 160), (40, 60, 100))
    image.paste(water, (0, round(horizon)))
    for _ in range(60):
        y = rng.uniform(horizon + 2, h)
        x = rng.uniform(0, w)
        length = rng.uniform(10, 50)
        draw.line([(x, y), (x + length, y)], fill=(200, 170, 170), width=1)
    for x in range(0, w, 22):
        top = horizon - rng.uniform(20, 45)
        draw.polygon([(x, horizon), (x + 8, top), (x + 16, horizon)], fill=(28, 40, 34))
    return image


def scene_hills(rng):
    w, h = SIZE
    image = _gradient(SIZE, (110, 160, 225), (200, 225, 245))
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        cx, cy = rng.uniform(0, w), rng.uniform(h * 0.08, h * 0.35)
        for _ in range(4):
            rx, ry = rng.uniform(20, 40), rng.uniform(10, 18)
            ox, oy = rng.uniform(-30, 30), rng.uniform(-6, 6)
            draw.ellipse([cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry], fill=(245, 245, 250))
    for base, amp, colour in ((h * 0.55, 20, (110, 160, 80)), (h * 0.68, 16, (80, 135, 60)),
                              (h * 0.82, 12, (60, 110, 45))):
        draw.polygon(_ridge(rng, w, base, amp, 3) + [(w, h), (0, h)], fill=colour)
    x, y = w * 0.3, h * 0.6
    draw.rectangle([x, y, x + 46, y + 30], fill=(235, 225, 200))
    draw.polygon([(x - 6, y), (x + 23, y - 22), (x + 52, y)], fill=(170, 60, 50))
    draw.rectangle([x + 18, y + 12, x + 28, y + 30], fill=(90, 60, 40))
    draw.polygon([(x + 23, y + 30), (x + 30, y + 30), (w * 0.55, h), (w * 0.42, h)], fill=(200, 180, 130))
    return image


def scene_town(rng):
    w, h = SIZE
    image = _gradient(SIZE, (40, 50, 100), (230, 140, 90))
    draw = ImageDraw.Draw(image)
    street = h * 0.8
    x = -10
    while x < w:
        bw, bh = rng.uniform(30, 70), rng.uniform(h * 0.25, h * 0.65)
        shade = rng.randrange(40, 90)
        draw.rectangle([x, street - bh, x + bw, street], fill=(shade, shade - 10, shade + 20))
        for wy in range(int(street - bh) + 8, int(street) - 10, 14):
            for wx in range(int(x) + 6, int(x + bw) - 8, 12):
                if rng.random() < 0.55:
                    draw.rectangle([wx, wy, wx + 5, wy + 7], fill=(255, 214, 120))
        x += bw + rng.uniform(2, 8)
    draw.rectangle([0, street, w, h], fill=(50, 48, 60))
    for lx in range(20, w, 70):
        draw.line([(lx, street), (lx, street - 40)], fill=(30, 30, 30), width=2)
        draw.ellipse([lx - 4, street - 46, lx + 4, street - 38], fill=(255, 240, 180))
    return image


SCENES = {
    "scene-lake.jpg": ("Lake at dusk (drawn scene)", scene_lake),
    "scene-hills.jpg": ("Hills and a house (drawn scene)", scene_hills),
    "scene-town.jpg": ("Town at sunset (drawn scene)", scene_town),
}


SAMPLE_PHOTOS = {
    # file: (scikit-image function, title, licence as scikit-image's docstring states it)
    "photo-cat.jpg": ("chelsea", "Chelsea the cat", "CC0, photographer Stefan van der Walt (scikit-image sample data)"),
    "photo-coffee.jpg": ("coffee", "Coffee cup", "CC0, photographer Rachel Michetti (scikit-image sample data)"),
    "photo-astronaut.jpg": ("astronaut", "Astronaut Eileen Collins",
                            "public domain, NASA Great Images (scikit-image sample data)"),
    "photo-rocket.jpg": ("rocket", "Falcon 9 launch", "public domain, released by SpaceX (scikit-image sample data)"),
    "photo-camera.jpg": ("camera", "Photographer with a camera (black and white)",
                         "CC0, photographer Lav Varshney (scikit-image sample data)"),
}


def sample_photos(folder: Path) -> list:
    """scikit-image's public-domain and CC0 sample photographs, or [] when it is not installed."""
    try:
        import skimage.data
    except ImportError:
        print("no sample photographs: scikit-image is not installed", file=sys.stderr)
        return []
    entries = []
    for name, (function, title, licence) in SAMPLE_PHOTOS.items():
        Image.fromarray(getattr(skimage.data, function)()).convert("RGB").save(folder / name, quality=90)
        entries.append({"file": name, "title": title, "source": licence})
    return entries


def pan_clip(folder: Path, photo: str = "photo-coffee.jpg", seconds: float = 2.0, fps: int = 12,
             size=(320, 240)) -> list:
    """A camera pan across `photo` as an H.264 MP4, or [] when PyAV or the photo is missing."""
    try:
        import av
    except ImportError:
        print("no example clip: PyAV is not installed", file=sys.stderr)
        return []
    if not (folder / photo).is_file():
        return []
    with Image.open(folder / photo) as opened:
        picture = opened.convert("RGB")
    picture = picture.resize((round(picture.width * size[1] / picture.height), size[1]), Image.Resampling.LANCZOS)
    name, frames = f"clip-{Path(photo).stem.split('-', 1)[-1]}-pan.mp4", round(seconds * fps)
    with av.open(str(folder / name), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            left = round((picture.width - size[0]) * i / (frames - 1))
            out.mux(stream.encode(av.VideoFrame.from_image(picture.crop((left, 0, left + size[0], size[1])))))
        out.mux(stream.encode())
    return [{"file": name, "title": f"Camera pan across {photo}", "source": f"made from {photo} by this script"}]


def draw_scenes(folder: Path) -> list:
    entries = []
    for i, (name, (title, draw)) in enumerate(SCENES.items()):
        rng = random.Random(i)
        _finish(draw(rng), rng).save(folder / name, quality=90)
        entries.append({"file": name, "title": title, "source": "drawn by examples/make_examples.py"})
    return entries


def render_references(folder: Path, model) -> list:
    """One rendered image per style of `model`, or [] (with a message) when it cannot be loaded."""
    from ganstyle import CheckpointError, StylePipeline

    try:
        pipe = StylePipeline.from_pretrained(model, device="cpu")
    except (CheckpointError, ValueError, OSError) as err:
        print(f"no rendered references: cannot load {model} ({err})", file=sys.stderr)
        return []
    entries = []
    for style in pipe.styles:
        seed = REFERENCE_SEEDS.get(style, 0)
        image = pipe.generate(style, n=1, seed=seed, truncation=0.7, size=256)[0]
        name = f"ref-{style}.png"
        image.save(folder / name)
        entries.append({"file": name, "style": style,
                        "source": f"rendered by {Path(str(model)).name}, seed {seed}, truncation 0.7"})
    return entries


def main(argv=None):
    from ganstyle.storage.hub import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or Hub repo id to render with")
    parser.add_argument("--no-render", action="store_true", help="only draw the scenes")
    parser.add_argument("--out", default=str(HERE), help="folder to write (default: examples/)")
    args = parser.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"photos": sample_photos(folder) + draw_scenes(folder), "references": []}
    manifest["clips"] = pan_clip(folder)
    if not args.no_render:
        manifest["references"] = render_references(folder, args.model)
        manifest["photos"] += [dict(ref, title="Photo rendered by the model") for ref in manifest["references"]
                               if ref["style"] == "photo"]
    (folder / "examples.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(manifest['photos'])} scenes and {len(manifest['references'])} references to {folder}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main()
