"""StylePipeline on a tiny random-weight export: every method, output sizes, determinism and
the errors of bad input (issue "Pipeline", points 2, 3 and 5). Offline, CPU, a few seconds.

The translator's internal working resolution may change, so transfer is tested by what a
user sees: sizes and aspect ratios, determinism, strength and colour semantics.
"""

import importlib.util
import io
import json
import math
import os
import random
import re
import shutil
import sys
import traceback
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ganstyle import CheckpointError, ImageError, StylePipeline
from ganstyle.imageio import pil_to_tensor, tensor_to_pil
from ganstyle.inference.pipeline import MAX_IMAGES, MAX_SIDE
from ganstyle.nets.generator import blend_noise
from ganstyle.nets.inversion import image_distance, noise_autocorrelation
from tiny_model import STYLES, build_tiny_export


# ----------------------------------------------------------------------------- helpers
def fresh(tiny_dir) -> StylePipeline:
    return StylePipeline.from_pretrained(tiny_dir, device="cpu")


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def same(a, b) -> bool:
    """Pixel-exact equality of two images (size included)."""
    return a.size == b.size and np.array_equal(pixels(a), pixels(b))


def max_diff(a, b) -> int:
    assert a.size == b.size, (a.size, b.size)
    return int(np.abs(pixels(a) - pixels(b)).max())


def mean_diff(a, b) -> float:
    assert a.size == b.size, (a.size, b.size)
    return float(np.abs(pixels(a) - pixels(b)).mean())


def gradient(width, height) -> Image.Image:
    """Smooth, moderately saturated colour content: red grows to the right, green downward."""
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    r = 60 + 140 * x + 0 * y
    g = 60 + 140 * y + 0 * x
    b = np.full((height, width), 100.0)
    return Image.fromarray(np.stack([r, g, b], axis=2).astype(np.uint8), "RGB")


def noise(width, height, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def user_error(exc_type, match, fn, *args, **kwargs):
    """Call `fn`, expect `exc_type` with a one-line message matching `match`, raised by
    ganstyle itself (not from deep inside torch, PIL or numpy)."""
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kwargs)
    err = info.value
    origin = traceback.extract_tb(info.tb)[-1].filename
    assert f"{os.sep}ganstyle{os.sep}" in origin, f"{type(err).__name__} raised from {origin}: {err}"
    assert "\n" not in str(err)
    return err


# ----------------------------------------------------------------------------- basics
def test_package_exports_pipeline_and_styles(pipe):
    import ganstyle

    assert ganstyle.StylePipeline is StylePipeline
    assert pipe.styles == list(STYLES)
    assert pipe.resolution == 32
    assert "circle" in repr(pipe)


def test_from_pretrained_accepts_str_and_path(tiny_dir, pipe):
    a = StylePipeline.from_pretrained(str(tiny_dir)).generate("square", seed=4)[0]
    assert same(a, pipe.generate("square", seed=4)[0])


# ----------------------------------------------------------------------------- generate
def test_generate_returns_rgb_images_at_model_resolution(pipe):
    images = pipe.generate("circle", n=3, seed=11)
    assert len(images) == 3
    for i, image in enumerate(images):
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
        assert image.info["seed"] == 11 + i and image.info["style"] == "circle"
    assert not same(images[0], images[1])


def test_generate_size_upscales(pipe):
    small, big = pipe.generate("circle", seed=2)[0], pipe.generate("circle", seed=2, size=80)[0]
    assert big.size == (80, 80)
    down, other = big.resize((32, 32), Image.Resampling.BOX), pipe.generate("circle", seed=3)[0]
    assert mean_diff(down, small) < 10 and mean_diff(down, small) < mean_diff(down, other) / 2


@pytest.mark.parametrize("n", [4, 20])
def test_generate_batch_equals_single_seeds(pipe, n):
    """Image i of a call with seed s is the image of seed s + i, pixel for pixel, whatever
    the batch size (20 crosses the internal batch boundary)."""
    batch = pipe.generate("triangle", n=n, seed=100)
    for i, image in enumerate(batch):
        single = pipe.generate("triangle", n=1, seed=100 + i)[0]
        assert same(image, single), f"image {i} of n={n} differs from seed {100 + i} alone " \
                                    f"(max diff {max_diff(image, single)})"


def test_generate_call_order_and_global_rng_do_not_matter(tiny_dir):
    one, two = fresh(tiny_dir), fresh(tiny_dir)
    torch.manual_seed(1)
    random.seed(1)
    a1 = one.generate("circle", n=2, seed=5)
    b1 = one.generate("random", n=3, seed=9)
    torch.manual_seed(999)
    random.seed(999)
    np.random.seed(999)
    b2 = two.generate("random", n=3, seed=9)
    torch.randn(10)
    a2 = two.generate("circle", n=2, seed=5)
    assert all(same(x, y) for x, y in zip(a1 + b1, a2 + b2))


def test_generate_draws_noise_maps_from_each_seed(pipe):
    """A generator may take layout from its noise maps: each seed gets maps of its own,
    drawn after z from the same seed, not one fixed set shared by every image."""
    G = pipe.generator
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(1, G.config.latent_dim, generator=gen)
    noise = G.make_noise(1, generator=gen)
    label = torch.tensor([pipe.styles.index("circle")])
    with torch.no_grad():
        ws = G.broadcast(G.mapping(z, label))
        expected, fixed = G.synthesis(ws, noise=noise), G.synthesis(ws)
    image = pipe.generate("circle", seed=7)[0]
    assert same(image, tensor_to_pil(expected[0]))
    assert not same(image, tensor_to_pil(fixed[0]))


def test_generate_random_style_picks_a_style_per_seed(pipe):
    images = pipe.generate("random", n=8, seed=40)
    picked = [image.info["style"] for image in images]
    assert set(picked) <= set(STYLES) and len(set(picked)) > 1
    for i, (image, style) in enumerate(zip(images, picked)):
        assert same(image, pipe.generate(style, seed=40 + i)[0])
    assert same(pipe.generate(seed=40)[0], images[0])  # "random" is the default style


def test_generate_without_seed_records_a_reproducible_seed(pipe):
    image = pipe.generate("square")[0]
    assert isinstance(image.info["seed"], int)
    assert same(image, pipe.generate("square", seed=image.info["seed"])[0])


def test_generate_accepts_numpy_integer_seed(pipe):
    assert same(pipe.generate("circle", seed=np.int64(7))[0], pipe.generate("circle", seed=7)[0])


def test_truncation_zero_gives_the_style_average(pipe):
    circles = pipe.generate("circle", n=3, seed=0, truncation=0.0)
    assert same(circles[0], circles[1]) and same(circles[0], circles[2])
    assert not same(circles[0], pipe.generate("square", seed=0, truncation=0.0)[0])
    half = pipe.generate("circle", seed=0, truncation=0.5)[0]
    full = pipe.generate("circle", seed=0)[0]
    assert mean_diff(half, circles[0]) < mean_diff(full, circles[0])


# ----------------------------------------------------------------------------- transfer: sizes
@pytest.mark.parametrize("size", [(301, 173), (173, 301), (64, 64), (9, 9), (8, 8), (8, 200), (40, 3)])
def test_transfer_keeps_input_size(pipe, size):
    if min(size) < 8:
        user_error(ImageError, "too small", pipe.transfer, noise(*size), style="circle", seed=0)
        return
    outputs = pipe.transfer(noise(*size), style="circle", seed=0, n=2)
    assert [o.size for o in outputs] == [size, size]
    assert all(o.mode == "RGB" for o in outputs)


@pytest.mark.parametrize("size, expected", [((3000, 1000), (1024, 341)), ((600, 1500), (410, 1024)),
                                            ((1025, 1025), (1024, 1024))])
def test_transfer_downscales_large_inputs_to_max_side(pipe, size, expected):
    assert MAX_SIDE == 1024
    content = Image.new("RGB", size, (120, 80, 200))
    out = pipe.transfer(content, style="square", seed=1)[0]
    assert out.size == expected
    assert abs(out.width / out.height - size[0] / size[1]) < 0.01


@pytest.mark.parametrize("keeps_photo_detail", [True, False])
def test_transfer_above_the_working_side_paints_at_it(pipe, monkeypatch, keeps_photo_detail):
    """A picture larger than `work_side` is translated at that side and brought back up: the
    upsampled change added to the photo, or (a painter) the upsampled painting itself."""
    translator = pipe.translator
    monkeypatch.setattr(pipe, "work_side", 24)
    monkeypatch.setattr(translator, "keeps_photo_detail", keeps_photo_detail)
    sizes, translate = [], translator.translate
    monkeypatch.setattr(translator, "translate",
                        lambda x, code: sizes.append(tuple(x.shape[-2:])) or translate(x, code))
    content = noise(96, 48)  # detail at every scale: the two ways of bringing it up differ
    out = pil_to_tensor(pipe.transfer(content, style="circle", seed=2)[0])
    assert sizes == [(12, 24)] and out.shape[-2:] == (48, 96)

    photo = pil_to_tensor(content)[None]
    small = F.interpolate(photo, size=(12, 24), mode="bilinear", antialias=True, align_corners=False)
    code = translator.style_code(torch.tensor([pipe.styles.index("circle")]), torch.Generator().manual_seed(2))
    with torch.inference_mode():
        painted = translate(small, code)
    expected = (photo + F.interpolate(painted - small, size=(48, 96), mode="bicubic", align_corners=False)
                if keeps_photo_detail else F.interpolate(painted, size=(48, 96), mode="bicubic", align_corners=False))
    assert (out - expected[0].clamp(-1, 1)).abs().max() <= 2 / 255 + 1e-6  # 8-bit rounding


def test_paint_side_is_the_brush_size(pipe, monkeypatch):
    """transfer(paint_side=S) paints a picture larger than S at S on its long side; the
    default is the pipeline's working side; out-of-range sides are refused."""
    sizes, translate = [], pipe.translator.translate
    monkeypatch.setattr(pipe.translator, "translate", lambda x, code: sizes.append(tuple(x.shape[-2:]))
                        or translate(x, code))
    content = noise(96, 48)
    broad = pipe.transfer(content, style="circle", seed=2, paint_side=32)[0]
    default = pipe.transfer(content, style="circle", seed=2)[0]
    assert sizes == [(16, 32), (48, 96)] and broad.size == default.size == (96, 48)
    assert np.abs(np.asarray(broad, float) - np.asarray(default, float)).mean() > 1
    for bad, exc in ((7, ValueError), (MAX_SIDE + 1, ValueError), (32.0, TypeError), (True, TypeError)):
        user_error(exc, "paint_side must be", pipe.transfer, content, style="circle", paint_side=bad)


def test_the_painter_paints_at_one_and_a_half_times_its_training_resolution():
    from ganstyle.nets.painter import Painter, PainterConfig

    painter = Painter(PainterConfig(resolution=32, num_styles=2, channels=[8, 8, 8], residual_blocks=1,
                                    full_channels=4, encoder_channels=[8], table_size=2))
    pipe = StylePipeline(translator=painter, styles=["a", "b"], resolution=32)
    assert pipe.work_side == 48 and not painter.keeps_photo_detail


def test_transfer_reference_size_does_not_change_output_size(pipe):
    for ref in (noise(500, 40), noise(8, 8), gradient(33, 70)):
        assert pipe.transfer(noise(45, 67), reference=ref)[0].size == (45, 67)


# ----------------------------------------------------------------------------- transfer: semantics
def test_strength_zero_returns_the_content_and_one_differs(pipe):
    content = gradient(96, 64)
    unchanged = pipe.transfer(content, style="triangle", seed=3, strength=0.0)[0]
    assert max_diff(unchanged, content) <= 1
    styled = pipe.transfer(content, style="triangle", seed=3, strength=1.0)[0]
    assert mean_diff(styled, content) > 10
    assert same(styled, pipe.transfer(content, style="triangle", seed=3)[0])  # 1.0 is the default


def test_strength_half_lies_between_content_and_full_style(pipe):
    content = gradient(96, 64)
    full = pipe.transfer(content, style="triangle", seed=3, strength=1.0)[0]
    half = pipe.transfer(content, style="triangle", seed=3, strength=0.5)[0]
    quarter = pipe.transfer(content, style="triangle", seed=3, strength=0.25)[0]
    d_full, d_half, d_quarter = (mean_diff(x, content) for x in (full, half, quarter))
    assert 0 < d_quarter < d_half < d_full
    assert mean_diff(half, full) < d_full


def test_strength_applies_to_references_too(pipe):
    content = gradient(64, 48)
    assert max_diff(pipe.transfer(content, reference=noise(32, 32), strength=0)[0], content) <= 1


def test_preserve_color_keeps_the_content_chroma(pipe):
    content = gradient(120, 80)
    chroma = np.asarray(content.convert("YCbCr"), dtype=float)[..., 1:]

    def chroma_diff(image):
        return np.abs(np.asarray(image.convert("YCbCr"), dtype=float)[..., 1:] - chroma).mean()

    plain = pipe.transfer(content, style="triangle", seed=0)[0]
    kept = pipe.transfer(content, style="triangle", seed=0, preserve_color=True)[0]
    assert kept.size == content.size
    assert chroma_diff(kept) < 3.0
    assert chroma_diff(plain) > 8.0
    # the light and texture still come from the style
    luma = lambda im: np.asarray(im.convert("L"), dtype=float)  # noqa: E731
    assert np.abs(luma(kept) - luma(plain)).mean() < np.abs(luma(kept) - luma(content)).mean()
    by_reference = pipe.transfer(content, reference=noise(40, 40, seed=3), preserve_color=True)[0]
    assert chroma_diff(by_reference) < 3.0


def test_transfer_named_style_gives_diverse_deterministic_outputs(tiny_dir, pipe):
    content = gradient(50, 40)
    outputs = pipe.transfer(content, style="square", seed=10, n=3)
    assert len(outputs) == 3
    assert not same(outputs[0], outputs[1]) and not same(outputs[1], outputs[2])
    for i, image in enumerate(outputs):
        assert image.info["seed"] == 10 + i
        assert same(image, pipe.transfer(content, style="square", seed=10 + i)[0])
    other = fresh(tiny_dir)
    other.generate("circle", seed=1)
    other.transfer(content, reference=noise(32, 32))
    assert same(other.transfer(content, style="square", seed=12)[0], outputs[2])
    assert not same(outputs[0], pipe.transfer(content, style="circle", seed=10)[0])


def test_transfer_reference_as_path_or_pil(tiny_dir, pipe, tmp_path):
    content = gradient(50, 40)
    ref = noise(48, 40, seed=5)
    path = tmp_path / "ref.png"
    ref.save(path)
    first_call = fresh(tiny_dir).transfer(content, reference=path)[0]  # before any other call
    by_pil = pipe.transfer(content, reference=ref)[0]
    assert same(first_call, by_pil)
    assert same(pipe.transfer(content, reference=str(path))[0], by_pil)
    assert mean_diff(by_pil, content) > 10
    other = pipe.transfer(content, reference=gradient(40, 40))[0]
    assert not same(other, by_pil)
    labelled = pipe.transfer(content, reference=ref, reference_style="square")[0]
    assert labelled.size == content.size


@pytest.mark.parametrize("colour, expected", [((230, 30, 30), "circle"), ((30, 210, 50), "square"),
                                              ((40, 50, 230), "triangle")])
def test_detect_style_names_the_style_of_a_reference(pipe, colour, expected, tmp_path):
    """The tiny model's classifier was fitted on one solid colour per style (tiny_model.py)."""
    reference = Image.new("RGB", (40, 24), colour)
    assert pipe.detect_style(reference) == expected
    reference.save(tmp_path / "ref.png")
    assert pipe.detect_style(tmp_path / "ref.png") == expected
    # the detected style is the one a reference transfer uses
    content = gradient(36, 28)
    assert same(pipe.transfer(content, reference=reference)[0],
                pipe.transfer(content, reference=reference, reference_style=expected)[0])


def test_reference_without_style_needs_a_classifier(tiny_dir, tmp_path):
    """Models exported before the style classifier existed: say what to do instead."""
    folder = shutil.copytree(tiny_dir, tmp_path / "old")
    shutil.rmtree(folder / "style_classifier")
    index = json.loads((folder / "model_index.json").read_text())
    del index["components"]["style_classifier"]
    (folder / "model_index.json").write_text(json.dumps(index))
    old = StylePipeline.from_pretrained(folder, device="cpu")
    user_error(ValueError, r"no style classifier .* reference_style=", old.transfer, gradient(32, 32),
               reference=noise(32, 32))
    assert old.transfer(gradient(32, 32), reference=noise(32, 32), reference_style="square")[0].size == (32, 32)


def test_exif_orientation_is_honoured(pipe, tmp_path):
    """A 64x32 photo, left half red, right half blue, stored with EXIF orientation 6
    (rotate 90 degrees clockwise to view): it is a 32x64 picture, red on top."""
    raw = Image.new("RGB", (64, 32), (220, 20, 20))
    raw.paste((20, 20, 220), (32, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    raw.save(path, exif=exif, quality=95)
    viewed = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    assert viewed.size == (32, 64)

    out = pipe.transfer(path, style="circle", seed=0)[0]
    assert out.size == (32, 64)
    unchanged = pipe.transfer(path, style="circle", seed=0, strength=0)[0]
    assert max_diff(unchanged, viewed) <= 1
    top, bottom = pixels(unchanged)[8, 16], pixels(unchanged)[56, 16]
    assert top[0] > 150 and top[2] < 100 and bottom[2] > 150 and bottom[0] < 100


def _sixteen_bit_png(tmp_path):
    values = np.zeros((20, 30), dtype=np.uint16)
    values[:, 10:20] = 32768
    values[:, 20:] = 65535
    path = tmp_path / "sixteen.png"
    Image.fromarray(values).save(path)
    return path


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "1", "I;16", "F"])
def test_transfer_converts_any_image_mode(pipe, tmp_path, mode):
    base = gradient(30, 20)
    if mode == "I;16":
        source = _sixteen_bit_png(tmp_path)
        assert Image.open(source).mode in ("I;16", "I")
    elif mode == "F":
        source = Image.fromarray(np.asarray(base.convert("L"), dtype=np.float32), "F")
    elif mode == "CMYK":
        source = tmp_path / "cmyk.jpg"
        base.convert("CMYK").save(source, quality=95)
        assert Image.open(source).mode == "CMYK"
    else:
        source = base.convert(mode)
    out = pipe.transfer(source, style="square", seed=0)[0]
    assert out.mode == "RGB" and out.size == (30, 20)
    unchanged = pipe.transfer(source, style="square", seed=0, strength=0)[0]
    if mode == "I;16":  # 16-bit values are rescaled, not clipped
        row = pixels(unchanged)[10]
        assert tuple(row[5]) == (0, 0, 0)
        assert all(abs(v - 128) <= 1 for v in row[15])
        assert tuple(row[25]) == (255, 255, 255)
    elif mode == "CMYK":
        assert mean_diff(unchanged, base) < 12
    elif mode in ("L", "F", "LA"):
        assert max_diff(unchanged, base.convert("L").convert("RGB")) <= 1


def test_transparent_pixels_become_white(pipe):
    rgba = Image.new("RGBA", (24, 24), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 12, 24))
    out = pixels(pipe.transfer(rgba, style="circle", seed=0, strength=0)[0])
    assert tuple(out[5, 20]) == (255, 255, 255) and tuple(out[5, 3]) == (0, 0, 255)


def test_transfer_accepts_bytes_arrays_and_file_objects(pipe, tmp_path):
    content = noise(40, 30, seed=2)
    path = tmp_path / "content.png"
    content.save(path)
    expected = pipe.transfer(content, style="circle", seed=1)[0]
    for source in (path, str(path), path.read_bytes(), np.asarray(content), io.BytesIO(path.read_bytes())):
        assert same(pipe.transfer(source, style="circle", seed=1)[0], expected)


# ----------------------------------------------------------------------------- interpolate
def test_interpolate_between_styles_ends_on_generate(pipe):
    frames = pipe.interpolate("circle", "square", steps=20, seed=3)
    assert len(frames) == 20 and all(f.size == (32, 32) for f in frames)
    assert same(frames[0], pipe.generate("circle", seed=3)[0])
    assert same(frames[-1], pipe.generate("square", seed=3)[0])
    assert not same(frames[10], frames[0]) and not same(frames[10], frames[-1])
    # neighbouring frames are closer than the two ends
    assert mean_diff(frames[9], frames[10]) < mean_diff(frames[0], frames[-1])


def test_interpolate_between_seeds(pipe):
    frames = pipe.interpolate(("triangle", 1), ("triangle", 9), steps=4, truncation=0.8)
    assert len(frames) == 4
    assert same(frames[0], pipe.generate("triangle", seed=1, truncation=0.8)[0])
    assert same(frames[-1], pipe.generate("triangle", seed=9, truncation=0.8)[0])
    again = pipe.interpolate(("triangle", 1), ("triangle", 9), steps=7, truncation=0.8)
    assert same(again[0], frames[0]) and same(again[-1], frames[-1])
    assert pipe.interpolate("circle", "square", steps=2, seed=1, size=48)[0].size == (48, 48)


def test_interpolate_transfer_between_styles(pipe):
    content = gradient(45, 67)
    frames = pipe.interpolate("circle", "triangle", steps=4, seed=2, image=content)
    assert len(frames) == 4 and all(f.size == (45, 67) for f in frames)
    assert max_diff(frames[0], pipe.transfer(content, style="circle", seed=2)[0]) <= 1
    assert max_diff(frames[-1], pipe.transfer(content, style="triangle", seed=2)[0]) <= 1
    assert not same(frames[1], frames[0]) and not same(frames[1], frames[-1])


def test_interpolate_transfer_between_references(pipe, tmp_path):
    content = gradient(40, 30)
    ref_a, ref_b = noise(32, 32, seed=1), gradient(50, 20)
    path_b = tmp_path / "b.png"
    ref_b.save(path_b)
    frames = pipe.interpolate(ref_a, str(path_b), steps=3, image=content)
    assert len(frames) == 3 and all(f.size == (40, 30) for f in frames)
    assert max_diff(frames[0], pipe.transfer(content, reference=ref_a)[0]) <= 1
    assert max_diff(frames[-1], pipe.transfer(content, reference=ref_b)[0]) <= 1


def test_interpolate_transfer_takes_any_reference_file(pipe, tmp_path):
    """A reference is recognised by being a file, whatever its extension (TIFF, none)."""
    content = gradient(40, 30)
    tiff, bare = tmp_path / "ref.tiff", tmp_path / "painting"
    noise(32, 32, seed=1).save(tiff)
    gradient(50, 20).save(bare, format="PNG")
    frames = pipe.interpolate(str(tiff), str(bare), steps=2, image=content)
    assert max_diff(frames[0], pipe.transfer(content, reference=str(tiff))[0]) <= 1
    assert max_diff(frames[1], pipe.transfer(content, reference=str(bare))[0]) <= 1


# ----------------------------------------------------------------------------- inversion
def render_latent(pipe, w, noise=None):
    """The image of w with the given noise maps (default: the stored ones, where inversion starts)."""
    return pipe._render([(w, pipe.generator.const_noise() if noise is None else noise)])[0]


def test_invert_finds_a_generated_image_again(pipe):
    """An image the generator drew from a seed (its own w and noise maps) is found again:
    the reconstruction is far closer to it than the style's average image the search
    starts from, and the noise maps found stay white noise."""
    (w_target, noise_target), _ = pipe._latent("square", 5, 1.0)
    target = render_latent(pipe, w_target, noise_target)
    steps = []
    w, noise = pipe.invert(target, style="square", steps=150, callback=lambda *args: steps.append(args))
    start = render_latent(pipe, pipe.generator.w_avg[1:2])

    def distance(image):
        return float(image_distance(pil_to_tensor(image)[None], pil_to_tensor(target)[None]))

    assert w.shape == (1, pipe.generator.num_ws, pipe.generator.config.w_dim)
    # progress after every step: (step, steps, distance), the distance falling
    assert [s[:2] for s in steps] == [(i, 150) for i in range(1, len(steps) + 1)]
    assert steps[-1][2] < 0.5 * steps[0][2]
    assert [m.shape for m in noise] == [m.shape for m in pipe.generator.make_noise(1)]
    assert distance(render_latent(pipe, w, noise)) < 0.4 * distance(start)
    for m in noise:
        assert float(m.mean()) == pytest.approx(0, abs=1e-4) and float(m.std()) == pytest.approx(1, abs=1e-4)
    assert float(noise_autocorrelation(noise)) < 1e-3


def test_noise_regularizer_tells_white_noise_from_smooth_maps():
    gen = torch.Generator().manual_seed(0)
    sizes = (8, 16, 32)
    white = [torch.randn(1, 1, s, s, generator=gen) for s in sizes]
    smooth = [F.interpolate(torch.randn(1, 1, s // 4, s // 4, generator=gen), size=s, mode="bilinear") for s in sizes]
    smooth = [m / m.std() for m in smooth]
    assert float(noise_autocorrelation(white)) < 0.02
    assert float(noise_autocorrelation(smooth)) > 1.0


def test_invert_is_deterministic_and_reads_files(pipe, tmp_path):
    path = tmp_path / "target.png"
    pipe.generate("circle", seed=2)[0].save(path)
    (w_a, noise_a), (w_b, noise_b) = pipe.invert(str(path), steps=20), pipe.invert(Image.open(path), steps=20)
    assert torch.equal(w_a, w_b) and all(torch.equal(a, b) for a, b in zip(noise_a, noise_b))


def test_invert_bad_input(pipe, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    user_error(ImageError, "broken.png", pipe.invert, str(tmp_path / "broken.png"))
    user_error(ValueError, "steps must be between 1 and 1000", pipe.invert, noise(8, 8), steps=0)
    user_error(ValueError, "unknown style 'cubism'", pipe.invert, noise(8, 8), style="cubism")
    user_error(TypeError, "callback must be callable", pipe.invert, noise(8, 8), callback="print")


def test_inversion_stops_early_on_a_plateau(pipe, monkeypatch):
    """Once the distance stops falling by 1% within PATIENCE steps, the search ends and
    returns the best latents it saw."""
    from ganstyle.nets import inversion

    monkeypatch.setattr(inversion, "LEARNING_RATE", 0.0)  # only the first renormalization of the maps moves
    steps = []
    pipe.invert(pipe.generate("circle", seed=0)[0], steps=200, callback=lambda *args: steps.append(args))
    assert inversion.PATIENCE < len(steps) <= inversion.PATIENCE + 2


def test_interpolate_reports_inversion_progress(pipe):
    a = pipe.generate("circle", seed=1)[0]
    calls = []
    pipe.interpolate(a, ("square", 2), steps=2, callback=lambda done, total: calls.append((done, total)))
    total = calls[0][1]
    assert total == pipe.generator.inversion_steps and calls[-1] == (total, total)
    assert all(t == total for _, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) > 10


def test_interpolate_generation_between_images_starts_and_ends_at_their_inversions(pipe):
    a, b = pipe.generate("circle", seed=1)[0], pipe.generate("triangle", seed=4)[0]
    frames = pipe.interpolate(a, b, steps=4)
    assert len(frames) == 4
    assert same(frames[0], render_latent(pipe, *pipe.invert(a)))
    assert same(frames[-1], render_latent(pipe, *pipe.invert(b)))
    mixed = pipe.interpolate(a, ("square", 3), steps=3, truncation=1.0)
    assert same(mixed[0], frames[0]) and same(mixed[-1], pipe.generate("square", seed=3)[0])


def test_blend_noise_keeps_the_spread_of_noise_and_its_ends():
    gen = torch.Generator().manual_seed(0)
    a = [torch.randn(1, 1, 64, 64, generator=gen)]
    b = [torch.randn(1, 1, 64, 64, generator=gen)]
    assert torch.equal(blend_noise(a, b, 0.0)[0], a[0]) and torch.equal(blend_noise(a, b, 1.0)[0], b[0])
    halfway = blend_noise(a, b, 0.5)[0]
    assert abs(float(halfway.std()) - 1) < 0.1  # a straight blend would have std ~0.71
    # two independent maps are nearly orthogonal: halfway is about their sum / sqrt(2)
    torch.testing.assert_close(halfway, (a[0] + b[0]) / math.sqrt(2), atol=0.1, rtol=0)
    torch.testing.assert_close(blend_noise(a, a, 0.3)[0], a[0])  # the same maps stay as they are


# ----------------------------------------------------------------------------- mix
def test_mix_of_one_latent_is_that_latent(pipe):
    num_ws = pipe.generator.num_ws
    reference = pipe.generate("square", seed=6)[0]
    for crossover in range(1, num_ws):
        assert same(pipe.mix(("square", 6), ("square", 6), crossover=crossover), reference)


def test_mix_grid_places_sources_and_mixes(pipe):
    size, gap = 40, 4
    grid = pipe.mix_grid("circle", [1, 2, 3], "square", [4, 5], crossover=2, truncation=0.7, size=size, gap=gap)
    edge = size + gap
    assert grid.size == (edge + 2 * size, edge + 3 * size)

    def cell(x, y):
        return grid.crop((x, y, x + size, y + size))

    assert same(cell(edge + size, 0), pipe.generate("square", seed=5, truncation=0.7, size=size)[0])
    assert same(cell(0, edge + 2 * size), pipe.generate("circle", seed=3, truncation=0.7, size=size)[0])
    assert same(cell(edge + size, edge + size), pipe.mix(("circle", 2), ("square", 5), crossover=2, truncation=0.7,
                                                          size=size))
    below_legend = grid.crop((size, edge + 2 * size, edge, grid.height))
    assert below_legend.getextrema() == ((255, 255),) * 3  # the gap stays white


def test_mix_grid_bad_seed_lists(pipe):
    user_error(ValueError, "number of coarse_seeds must be between 1 and 8", pipe.mix_grid, "circle", [], "square",
               [1])
    user_error(ValueError, "number of fine_seeds must be between 1 and 8", pipe.mix_grid, "circle", [1], "square",
               list(range(9)))
    user_error(TypeError, "coarse_seeds must be a list of seeds", pipe.mix_grid, "circle", 3, "square", [1])


def test_components_and_model_card(pipe, tmp_path):
    assert list(pipe.components) == ["generator", "translator", "style_classifier"]
    assert "# ganstyle model" in pipe.model_card()  # the tiny folder has no card: rendered
    folder = shutil.copytree(pipe.source, tmp_path / "model")
    (folder / "README.md").write_text("# my card\n", encoding="utf-8")
    assert StylePipeline.from_pretrained(folder, device="cpu").model_card() == "# my card\n"
    bare = StylePipeline(translator=pipe.translator, styles=pipe.styles, resolution=pipe.resolution)
    card = bare.model_card("someone/model")
    assert "# someone/model" in card and "(translator)" in card and ", ".join(STYLES) in card
    assert repr(bare).endswith("components=['translator'], device=cpu)")


def test_mix_crossover_moves_from_fine_to_coarse(pipe):
    num_ws = pipe.generator.num_ws
    coarse, fine = pipe.generate("circle", seed=1)[0], pipe.generate("square", seed=2)[0]
    late = pipe.mix(("circle", 1), ("square", 2), crossover=num_ws - 1)
    early = pipe.mix(("circle", 1), ("square", 2), crossover=1)
    assert isinstance(late, Image.Image) and late.size == (32, 32)
    assert not same(late, coarse) and not same(late, fine)
    assert mean_diff(late, coarse) < mean_diff(late, fine)
    assert mean_diff(early, fine) < mean_diff(early, coarse)
    middle = pipe.mix(("circle", 1), ("square", 2))
    assert same(middle, pipe.mix(("circle", 1), ("square", 2), crossover=num_ws // 2))
    assert pipe.mix(("random", 3), ("triangle", 4), size=64).size == (64, 64)


# ----------------------------------------------------------------------------- save_animation
def test_save_animation_gif_frame_count(pipe, tmp_path):
    frames = pipe.interpolate("circle", "triangle", steps=5, seed=0)
    path = pipe.save_animation(frames, tmp_path / "loop.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.size == (32, 32)
        assert gif.n_frames == 8  # 5 forward + 3 back (boomerang)
        assert gif.info["duration"] == 100
    straight = pipe.save_animation(frames, tmp_path / "straight.gif", boomerang=False)
    with Image.open(straight) as gif:
        assert gif.n_frames == 5


def _has_mp4_backend() -> bool:
    """imageio with one of the two backends save_animation accepts (imageio-ffmpeg or PyAV)."""
    return importlib.util.find_spec("imageio") is not None and any(
        importlib.util.find_spec(m) is not None for m in ("imageio_ffmpeg", "av"))


def test_save_animation_mp4_written_or_clearly_refused(pipe, tmp_path):
    frames = pipe.interpolate("circle", "square", steps=3, seed=0, size=64)
    path = tmp_path / "clip.mp4"
    if _has_mp4_backend():
        pipe.save_animation(frames, path)
        assert path.stat().st_size > 0
    else:
        user_error(ValueError, "imageio-ffmpeg", pipe.save_animation, frames, path)
        assert not path.exists()


def test_save_animation_mp4_refused_when_only_imageio_is_installed(pipe, tmp_path, monkeypatch):
    """imageio without an ffmpeg backend must not fail deep inside imageio."""
    fake = types.ModuleType("imageio")
    fake.v3 = types.ModuleType("imageio.v3")

    def imwrite(*args, **kwargs):
        raise OSError("Could not find a backend to open the file with iomode 'w'")

    fake.v3.imwrite = imwrite
    monkeypatch.setitem(sys.modules, "imageio", fake)
    monkeypatch.setitem(sys.modules, "imageio.v3", fake.v3)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    monkeypatch.setitem(sys.modules, "av", None)
    user_error(ValueError, "imageio-ffmpeg", pipe.save_animation, pipe.generate("circle", n=2, seed=0),
               tmp_path / "clip.mp4")


def test_save_animation_bad_arguments(pipe, tmp_path):
    frames = pipe.generate("circle", n=2, seed=0)
    user_error(ValueError, r"\.gif or \.mp4", pipe.save_animation, frames, tmp_path / "clip.avi")
    user_error(ValueError, "no frames", pipe.save_animation, [], tmp_path / "clip.gif")


# ----------------------------------------------------------------------------- bad input
def test_unknown_style_lists_the_valid_ones(pipe):
    content = noise(16, 16)
    calls = [
        lambda: pipe.generate("cubism", seed=0),
        lambda: pipe.transfer(content, style="cubism"),
        lambda: pipe.transfer(content, reference=noise(16, 16), reference_style="cubism"),
        lambda: pipe.interpolate("circle", "cubism", steps=3),
        lambda: pipe.interpolate("cubism", "circle", steps=3, image=content),
        lambda: pipe.mix(("cubism", 1), ("circle", 2)),
    ]
    for call in calls:
        err = user_error(ValueError, "cubism", call)
        assert all(style in str(err) for style in STYLES), str(err)


BAD_CALLS = [  # (call on the pipeline, exception type, what the message says)
    (lambda p: p.generate(3), TypeError, "style"),
    (lambda p: p.generate(None), TypeError, "style"),
    (lambda p: p.generate("circle", n=0), ValueError, f"n must be between 1 and {MAX_IMAGES}"),
    (lambda p: p.generate("circle", n=MAX_IMAGES + 1), ValueError, "n must be between"),
    (lambda p: p.generate("circle", n=2.0), TypeError, "n must be an integer"),
    (lambda p: p.generate("circle", truncation=1.5), ValueError, "truncation must be between 0 and 1"),
    (lambda p: p.generate("circle", truncation="high"), TypeError, "truncation"),
    (lambda p: p.generate("circle", seed=-1), ValueError, "seed"),
    (lambda p: p.generate("circle", seed=2**64), ValueError, "seed"),
    (lambda p: p.generate("circle", seed=2**63 - 2, n=4), ValueError, "seed"),
    (lambda p: p.generate("circle", seed="abc"), ValueError, "seed"),
    (lambda p: p.generate("circle", seed=1.5), ValueError, "seed"),
    (lambda p: p.generate("circle", size=0), ValueError, "size"),
    (lambda p: p.generate("circle", size=-5), ValueError, "size"),
    (lambda p: p.generate("circle", size=MAX_SIDE + 1), ValueError, "size must be between 1 and 1024"),
    (lambda p: p.mix(("circle", 1), ("square", 2), size=MAX_SIDE + 1), ValueError, "size"),
    (lambda p: p.interpolate("circle", "square", steps=2, size=MAX_SIDE + 1), ValueError, "size"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", strength=2), ValueError,
     "strength must be between 0 and 1"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", strength=-0.1), ValueError, "strength"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", strength=math.nan), ValueError, "strength"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", strength="0.5"), TypeError, "strength"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", n=0), ValueError, "n must be between"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", n=MAX_IMAGES + 1), ValueError, "n must be"),
    (lambda p: p.transfer(gradient(20, 20), style="circle", seed=2**64), ValueError, "seed"),
    (lambda p: p.transfer(gradient(20, 20)), ValueError, "either style= .* or reference="),
    (lambda p: p.transfer(gradient(20, 20), style="circle", reference=noise(9, 9)), ValueError, "not both"),
    (lambda p: p.transfer(12345, style="circle"), TypeError, "path, PIL image"),
    (lambda p: p.interpolate("circle", "square", steps=1), ValueError, "steps must be between 2 and"),
    (lambda p: p.interpolate("circle", "square", steps=MAX_IMAGES + 1), ValueError, "steps"),
    (lambda p: p.interpolate("circle", "square", steps=3.5), TypeError, "steps"),
    (lambda p: p.interpolate("circle", "square", steps=3, truncation=-1), ValueError, "truncation"),
    (lambda p: p.mix(("circle", 1), ("square", 2), crossover=0), ValueError, "crossover must be between 1"),
    (lambda p: p.mix(("circle", 1), ("square", 2), crossover=p.generator.num_ws), ValueError, "crossover"),
    (lambda p: p.mix("circle", ("square", 2)), TypeError, r"\(style, seed\) pair"),
    (lambda p: p.mix(("circle", -3), ("square", 2)), ValueError, "seed"),
]


def _ids(cases) -> list:
    return ["%02d-%s" % (i, re.sub(r"\W+", "_", case[-1])[:30]) for i, case in enumerate(cases)]


@pytest.mark.parametrize("call, exc, match", BAD_CALLS, ids=_ids(BAD_CALLS))
def test_bad_arguments_give_clear_errors(pipe, call, exc, match):
    user_error(exc, match, call, pipe)


def _truncated(fmt: str) -> bytes:
    buffer = io.BytesIO()
    noise(64, 64).save(buffer, fmt)
    data = buffer.getvalue()
    return data[: len(data) // 2]


def _zero_width_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:20] = bytes(4)  # IHDR width = 0
    return bytes(data)


BAD_FILES = {  # file name -> (contents, what the message says)
    "notes.png": (lambda: b"this is not an image\n" * 20, "not an image"),
    "notes.txt": (lambda: b"this is not an image\n", "not an image"),
    "cut.png": (lambda: _truncated("PNG"), "truncated"),
    "cut.jpg": (lambda: _truncated("JPEG"), "truncated"),
    "empty.jpg": (lambda: b"", "empty|not an image"),
    "zero.png": (_zero_width_png, "."),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("role", ["content", "reference"])
def test_bad_image_files_are_refused_naming_the_file(pipe, tmp_path, name, role):
    make, match = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(make())
    if role == "content":
        err = user_error(ImageError, match, pipe.transfer, path, style="circle")
    else:
        err = user_error(ImageError, match, pipe.transfer, gradient(20, 20), reference=path)
    assert name in str(err) and role in str(err)


def test_missing_image_file_names_the_path(pipe, tmp_path):
    missing = tmp_path / "holiday.jpg"
    err = user_error(ImageError, "no such file", pipe.transfer, missing, style="circle")
    assert "holiday.jpg" in str(err)
    err = user_error(ImageError, "no such file", pipe.transfer, gradient(20, 20), reference=str(missing))
    assert "holiday.jpg" in str(err) and "reference" in str(err)
    user_error(ImageError, "no such file", pipe.interpolate, str(missing), "circle", steps=2,
               image=gradient(20, 20))


def test_zero_size_image_is_refused(pipe):
    user_error(ImageError, "zero size", pipe.transfer, Image.new("RGB", (0, 0)), style="circle")
    user_error(ImageError, "zero size", pipe.transfer, gradient(20, 20), reference=Image.new("RGB", (0, 5)))


def test_decompression_bomb_is_caught_and_explained(pipe, tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("RGB", (100, 100), (1, 2, 3)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 10000 px > 2 x limit: Pillow raises
    err = user_error(ImageError, "decompression bomb", pipe.transfer, path, style="circle")
    assert "bomb.png" in str(err) and "2,000" in str(err)
    user_error(ImageError, "decompression bomb", pipe.transfer, gradient(20, 20), reference=path)


def test_missing_component_is_explained(tmp_path):
    only_g = StylePipeline.from_pretrained(build_tiny_export(tmp_path / "g", components=("generator",)))
    assert only_g.translator is None and only_g.generate("circle", seed=0)[0].size == (32, 32)
    user_error(ValueError, "no translator", only_g.transfer, gradient(20, 20), style="circle")
    user_error(ValueError, "no translator", only_g.interpolate, "circle", "square", image=gradient(20, 20))
    only_t = StylePipeline.from_pretrained(build_tiny_export(tmp_path / "t", components=("translator",)))
    assert only_t.transfer(gradient(20, 20), style="circle", seed=0)[0].size == (20, 20)
    user_error(ValueError, "no generator", only_t.generate, "circle")
    user_error(ValueError, "no generator", only_t.mix, ("circle", 1), ("square", 2))


def test_loading_a_missing_folder_is_a_checkpoint_error(tmp_path):
    user_error(CheckpointError, "does not exist", StylePipeline.from_pretrained, str(tmp_path / "no" / "such" / "x"))


# ----------------------------------------------------------------------------- fault probe (issue 14)
def test_numpy_scalars_are_accepted_as_numbers(pipe):
    a = pipe.generate("circle", n=np.int64(2), seed=np.int32(5), truncation=np.float32(0.5))
    b = pipe.generate("circle", n=2, seed=5, truncation=0.5)
    assert all(same(x, y) for x, y in zip(a, b))
    out = pipe.transfer(gradient(20, 16), style="square", strength=np.float64(0.5), n=np.int16(1), seed=0)[0]
    assert same(out, pipe.transfer(gradient(20, 16), style="square", strength=0.5, seed=0)[0])
    user_error(TypeError, "n must be an integer, got float", pipe.generate, "circle", n=1.5)
    user_error(TypeError, "n must be an integer, got bool", pipe.generate, "circle", n=np.bool_(True))
    user_error(ValueError, "truncation must be between 0 and 1, got nan", pipe.generate, "circle",
               truncation=float("nan"))


@pytest.mark.parametrize("seed", [float("nan"), float("inf"), "abc", 1.5, -1, 2**63])
def test_bad_seeds_are_refused(pipe, seed):
    user_error(ValueError, "seed must be an integer from 0 to", pipe.generate, "circle", seed=seed)


def test_float_and_4d_arrays_get_a_clear_error(pipe):
    user_error(ImageError, "must hold uint8 values 0-255, got float64", pipe.transfer, np.zeros((16, 16, 3)),
               style="circle")
    user_error(ImageError, r"got shape \(1, 16, 16, 3\)", pipe.transfer, np.zeros((1, 16, 16, 3), np.uint8),
               style="circle")


@pytest.mark.parametrize("fps, error", [(0, ValueError), (-5, ValueError), (float("nan"), ValueError),
                                        (1000, ValueError), ("8", TypeError)])
def test_save_animation_refuses_bad_fps(pipe, tmp_path, fps, error):
    frames = [gradient(8, 8)] * 3
    user_error(error, "fps must be", pipe.save_animation, frames, tmp_path / "a.gif", fps=fps)
    assert not (tmp_path / "a.gif").exists()


def test_save_animation_takes_fractional_fps(pipe, tmp_path):
    path = pipe.save_animation([gradient(8, 8), noise(8, 8)], tmp_path / "a.gif", fps=2.5, boomerang=False)
    with Image.open(path) as gif:
        assert gif.info["duration"] == 400


def test_huge_style_names_are_shortened_in_messages(pipe):
    name = "x" * 100_000
    for call in (lambda: pipe.generate(name), lambda: pipe.transfer(gradient(16, 16), style=name),
                 lambda: pipe.interpolate(name, "circle", steps=2)):
        with pytest.raises(ValueError) as err:
            call()
        assert len(str(err.value)) < 300 and "(100,002 characters)" in str(err.value)


@pytest.mark.parametrize("device, match", [("bogus", "unknown device 'bogus'"),
                                           ("cuda:9", "device cuda:9 is not available")])
def test_bad_devices_are_refused(tiny_dir, device, match):
    user_error(ValueError, match, StylePipeline.from_pretrained, tiny_dir, device=device)


def test_thin_and_oversized_images_are_refused_through_every_method(pipe, tmp_path):
    sys.path.insert(0, os.path.dirname(__file__))
    from hostile_images import HUGE_16_BIT, THIN, png_bytes

    thin, huge = tmp_path / "thin.png", tmp_path / "huge.png"
    thin.write_bytes(png_bytes(**THIN))
    huge.write_bytes(png_bytes(**HUGE_16_BIT))
    content = gradient(20, 20)
    for call in (lambda: pipe.transfer(content, reference=thin), lambda: pipe.transfer(thin, style="circle"),
                 lambda: pipe.interpolate(thin, "circle", steps=2), lambda: pipe.invert(thin, steps=1),
                 lambda: pipe.detect_style(thin), lambda: pipe.interpolate("circle", thin, image=content, steps=2)):
        user_error(ImageError, "1x131000 pixels, more than 64:1", call)
    user_error(ImageError, r"13000x13000 pixels \(169 MP\)", pipe.transfer, huge, style="circle")
