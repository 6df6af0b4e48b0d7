"""Training data: a folder ROOT/<style>/*.{jpg,jpeg,png,webp}, one sub-folder per style.

`ImageBank` decodes every image once, up front, into a uint8 tensor at the training
resolution. That catches every bad file before training starts (each is named in a single
warning and skipped) and makes sampling a batch an indexing operation, which keeps a CPU
busy with the networks rather than with JPEG decoding. Memory is 3*R*R bytes per image
(12 KB at 64 px, 48 KB at 128 px), fine up to tens of thousands of images.
"""

import warnings
import zlib
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .imageio import IMAGE_EXTENSIONS, ImageError, from_uint8, open_image, pil_to_uint8, resize_crop


SPLITS = ("all", "train", "val")


def is_validation(path) -> bool:
    """The fixed validation rule: a file is held out when the CRC-32 of its file name is
    divisible by 10 (about 10% of every style, the same on every machine and run)."""
    return zlib.crc32(Path(path).name.encode("utf-8")) % 10 == 0


class DataError(ValueError):
    """The dataset folder cannot be trained on; the message says what to fix."""


def find_style_folders(root, split: str = "all") -> dict:
    """Map style name -> sorted image paths for each sub-folder of `root` (sorted by name),
    keeping the files of `split` ("all", "train" or "val", see `is_validation`).
    Refuses a missing root, a root with no sub-folders, and a style folder with no images."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root} has no style sub-folders; expected {root}/<style>/*.jpg")
    styles = {}
    for folder in folders:
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file())
        if not files:
            raise DataError(f"style folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        if split != "all":
            files = [f for f in files if is_validation(f) == (split == "val")]
            if not files:
                raise DataError(f"style folder {folder} has no images in the {split!r} split")
        styles[folder.name] = files
    return styles


class ImageBank:
    """All training images of all styles, decoded at one resolution and kept in memory."""

    def __init__(self, root, resolution: int, min_styles: int = 1, split: str = "all", show_progress=False):
        folders = find_style_folders(root, split)
        if len(folders) < min_styles:
            raise DataError(
                f"{root} has {len(folders)} style folder(s) ({', '.join(folders)}); "
                f"this model needs at least {min_styles}"
            )
        self.styles = list(folders)
        self.resolution = resolution
        images, labels, skipped = [], [], []
        all_files = [(label, f) for label, files in enumerate(folders.values()) for f in files]
        for label, path in tqdm(all_files, desc="loading images", disable=not show_progress):
            try:
                image = resize_crop(open_image(path), resolution)
            except ImageError as err:
                skipped.append(str(err))
                continue
            images.append(pil_to_uint8(image))
            labels.append(label)
        if skipped:
            warnings.warn(f"skipped {len(skipped)} unreadable image(s): {', '.join(skipped)}", stacklevel=2)
        self.labels = torch.tensor(labels, dtype=torch.long)
        empty = [s for i, s in enumerate(self.styles) if not (self.labels == i).any()]
        if empty:
            raise DataError(f"no usable image in style folder(s): {', '.join(empty)}")
        self.images = torch.stack(images)
        self.by_style = [torch.nonzero(self.labels == i).flatten() for i in range(len(self.styles))]

    def __len__(self):
        return len(self.labels)

    def counts(self) -> dict:
        return {s: len(idx) for s, idx in zip(self.styles, self.by_style)}

    def sample(self, batch_size: int, labels: torch.Tensor = None, flip: bool = True):
        """A random batch (images in [-1, 1], labels), drawn with torch's global RNG.
        With `labels`, each image is drawn from the given style."""
        if labels is None:
            index = torch.randint(len(self.labels), (batch_size,))
        else:
            index = torch.stack([
                self.by_style[label][torch.randint(len(self.by_style[label]), ())] for label in labels.tolist()
            ])
        images = from_uint8(self.images[index])
        if flip:
            mirrored = torch.rand(batch_size) < 0.5
            images[mirrored] = images[mirrored].flip(-1)
        return images, self.labels[index]
