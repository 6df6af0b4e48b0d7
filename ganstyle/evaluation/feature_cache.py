"""The cache of real-image features that evaluation reuses between runs."""

import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..files import atomic_path
from ..imageio import ImageError, open_image
from ..training.distill import FRAME_MARGIN, inner_crop

MAGENTA_VECTOR_ID = f"magenta-style-vector-frame{FRAME_MARGIN}"
"""Cache name of the Magenta style vectors of frame-cut paintings (the evaluation's
magenta_mean baseline and the comparison sheets average them)."""


def default_cache_dir() -> Path:
    """Where real-image features are cached: $GANSTYLE_CACHE, else $XDG_CACHE_HOME/ganstyle,
    else ~/.cache/ganstyle (a sub-folder eval-features/ is used)."""
    if os.environ.get("GANSTYLE_CACHE"):
        return Path(os.environ["GANSTYLE_CACHE"]) / "eval-features"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ganstyle" / "eval-features"


class FeatureCache:
    """Features of image files, keyed by (absolute path, size, mtime) and by the extractor and
    the resolution the image was brought to first (None: the file as it is, for extractors
    with their own preprocessing); one file per (extractor, resolution). Writes are atomic
    (temporary file + rename)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def _file(self, extractor_id: str, resolution) -> Path:
        return self.folder / (f"{extractor_id}.pt" if resolution is None else f"{extractor_id}-r{resolution}.pt")

    @staticmethod
    def key(path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"

    def load(self, extractor_id: str, resolution) -> dict:
        file = self._file(extractor_id, resolution)
        if not file.is_file():
            return {}
        try:
            return torch.load(file, map_location="cpu", weights_only=True)
        except Exception:  # a corrupt cache is recomputed, never fatal
            return {}

    def save(self, extractor_id: str, resolution, table: dict) -> None:
        with atomic_path(self._file(extractor_id, resolution)) as tmp:
            torch.save(table, tmp)


def magenta_style_vectors(magenta, paths, table: dict, on_error, progress: bool = False, desc: str = "paintings"):
    """Magenta's style vector (a float32 tensor of 100) of each painting in `paths`, each read
    at its own size and cut by `FRAME_MARGIN` on every side first, as the painter family's
    distillation does. `table` is the cache file `MAGENTA_VECTOR_ID` (keyed by
    `FeatureCache.key`): known paintings are read from it and new ones added. A missing or
    unreadable file is passed with its `ImageError` to `on_error(path, error)` and left out.

    Returns (the vectors in the order of `paths`, how many were computed), so that the caller
    saves the table only when it grew. The evaluation's Magenta baselines and the comparison
    sheets share this, so a sheet after an evaluation computes none."""
    vectors, computed = [], 0
    for path in tqdm(paths, desc=f"magenta style vectors: {desc}", leave=False, disable=not progress):
        key = FeatureCache.key(path) if Path(path).is_file() else None
        if key not in table:
            try:
                painting = open_image(path)
            except ImageError as error:
                on_error(path, error)
                continue
            vector = magenta.style_vector(inner_crop(painting, FRAME_MARGIN))
            table[key] = torch.from_numpy(np.asarray(vector, dtype=np.float32).reshape(-1))
            computed += 1
        vectors.append(table[key])
    return vectors, computed
