"""The cache of real-image features that evaluation reuses between runs."""

import os
from pathlib import Path

import torch

from ..files import atomic_path
from ..training.distill import FRAME_MARGIN

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
