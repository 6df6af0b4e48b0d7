"""Weighted style blends (ganstyle/blend.py) on their own, through the pipeline and the CLI:
weights checked and normalized, a one-style blend is that style, a two-style blend is the
midpoint of the interpolation between them, references blend in transfer, and
`--style a=0.5,b=0.5` writes the pipeline's images."""

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstyle.inference.blend import blend_by_lerps, check_blend, format_blend, parse_blend
from ganstyle.cli import main


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def max_diff(a, b) -> int:
    assert a.size == b.size
    return int(np.abs(pixels(a) - pixels(b)).max())


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8))


# ----------------------------------------------------------------------------- blend.py
def test_parse_blend_reads_the_command_line_form():
    assert parse_blend("monet=0.5, ukiyoe=0.3,vangogh=.2") == {"monet": 0.5, "ukiyoe": 0.3, "vangogh": 0.2}
    assert parse_blend("photo=1") == {"photo": 1.0}


@pytest.mark.parametrize("text, match", [
    ("monet", "is not STYLE=WEIGHT"),
    ("monet=0.5,ukiyoe", "'ukiyoe' is not STYLE=WEIGHT"),
    ("=0.5", "is not STYLE=WEIGHT"),
    ("monet=half", "weight of 'monet' in the blend must be a number, got 'half'"),
    ("monet=1,monet=2", "'monet' appears twice"),
])
def test_parse_blend_refuses_malformed_text(text, match):
    with pytest.raises(ValueError, match=match):
        parse_blend(text)


def test_check_blend_normalizes_and_drops_zero_weights():
    entries = check_blend({"a": 2, "b": 0, "c": 6.0})
    assert entries == [("a", 0.25), ("c", 0.75)]
    assert math.isclose(sum(w for _, w in check_blend({"a": 0.1, "b": 0.2, "c": 0.7})), 1.0)


@pytest.mark.parametrize("blend, exc, match", [
    ("monet", TypeError, "must be a mapping"),
    ({}, ValueError, "at least one style"),
    ({"a": -0.1, "b": 1}, ValueError, "'a' in the blend must not be negative, got -0.1"),
    ({"a": float("inf")}, ValueError, "must be finite, got inf"),
    ({"a": float("nan")}, ValueError, "must be finite, got nan"),
    ({"a": 0, "b": 0.0}, ValueError, "must not all be zero"),
    ({"a": True}, TypeError, "must be a number, got bool"),
    ({"a": "0.5"}, TypeError, "must be a number, got str"),
])
def test_check_blend_refuses_bad_weights(blend, exc, match):
    with pytest.raises(exc, match=match):
        check_blend(blend)


def test_blend_by_lerps_is_the_weighted_average():
    def lerp(x, y, t):
        return x + t * (y - x)

    a, b, c = (np.full(4, v) for v in (1.0, 2.0, 4.0))
    assert np.allclose(blend_by_lerps([a, b, c], [0.5, 0.25, 0.25], lerp), 0.5 * a + 0.25 * b + 0.25 * c)
    assert blend_by_lerps([a], [1.0], lerp) is a


def test_format_blend_names_styles_and_reference_files(tmp_path):
    assert format_blend([("monet", 0.5), ("ukiyoe", 0.3), ("vangogh", 0.2)]) == "monet=0.5,ukiyoe=0.3,vangogh=0.2"
    assert format_blend([(str(tmp_path / "painting.jpg"), 1 / 3), (tmp_path / "b.png", 1 / 3),
                         (np.zeros((4, 4, 3), np.uint8), 1 / 3)]) == "painting.jpg=0.333,b.png=0.333,reference=0.333"


# ----------------------------------------------------------------------------- generation
def test_one_style_blend_is_that_style(pipe):
    plain = pipe.generate("circle", n=2, seed=5, truncation=0.7)
    blended = pipe.generate({"circle": 3.0, "square": 0}, n=2, seed=5, truncation=0.7)
    assert [max_diff(a, b) for a, b in zip(plain, blended)] == [0, 0]
    assert blended[0].info == {"seed": 5, "style": "circle=1"}


def test_two_style_blend_is_the_interpolation_midpoint(pipe):
    middle = pipe.interpolate("circle", "triangle", steps=3, seed=4, truncation=0.8)[1]
    blended = pipe.generate({"circle": 1, "triangle": 1}, seed=4, truncation=0.8)[0]
    assert max_diff(middle, blended) <= 1  # the same w up to float rounding (lerp vs weighted sum)


def test_three_style_blend_lies_between_its_styles_and_follows_the_weights(pipe):
    weights = {"circle": 0.5, "square": 0.3, "triangle": 0.2}
    blended = pipe.generate(weights, seed=9)[0]
    assert blended.info["style"] == "circle=0.5,square=0.3,triangle=0.2"
    singles = {name: pipe.generate(name, seed=9)[0] for name in weights}
    assert all(max_diff(blended, image) > 0 for image in singles.values())
    # Scaling every weight changes nothing (normalized); moving weight changes the image.
    assert max_diff(pipe.generate({k: 10 * v for k, v in weights.items()}, seed=9)[0], blended) == 0
    assert max_diff(pipe.generate({"circle": 0.2, "square": 0.3, "triangle": 0.5}, seed=9)[0], blended) > 0
    # Batch and single calls agree, as for named styles.
    assert max_diff(pipe.generate(weights, n=2, seed=8)[1], blended) == 0


def test_generation_blend_refuses_references_and_unknown_styles(pipe):
    with pytest.raises(TypeError, match="blended in transfer"):
        pipe.generate({Path("painting.png"): 1})
    with pytest.raises(ValueError, match="unknown style 'cubism'; this model knows: circle, square, triangle"):
        pipe.generate({"circle": 0.5, "cubism": 0.5})


# ----------------------------------------------------------------------------- transfer
def test_transfer_blend_of_one_style_is_that_style_and_of_two_the_midpoint(pipe, photo):
    plain = pipe.transfer(photo, style="square", seed=2, n=2)
    blended = pipe.transfer(photo, style={"square": 1}, seed=2, n=2)
    assert [max_diff(a, b) for a, b in zip(plain, blended)] == [0, 0]
    middle = pipe.interpolate("circle", "square", steps=3, seed=2, image=photo)[1]
    half = pipe.transfer(photo, style={"circle": 0.5, "square": 0.5}, seed=2)[0]
    assert max_diff(middle, half) <= 1
    assert half.info == {"seed": 2, "style": "circle=0.5,square=0.5"}


def test_transfer_blend_takes_reference_images(pipe, photo, tmp_path):
    red = tmp_path / "red.png"
    Image.new("RGB", (32, 32), (220, 40, 40)).save(red)
    by_reference = pipe.transfer(photo, reference=red)[0]
    assert max_diff(pipe.transfer(photo, style={str(red): 1.0}, seed=0)[0], by_reference) == 0
    mixed = pipe.transfer(photo, style={"triangle": 0.6, str(red): 0.4}, seed=3, n=2)
    assert [image.info["style"] for image in mixed] == ["triangle=0.6,red.png=0.4"] * 2
    assert max_diff(mixed[0], by_reference) > 0 and max_diff(mixed[0], mixed[1]) > 0  # seeds still vary


def test_transfer_blend_refuses_bad_weights(pipe, photo):
    with pytest.raises(ValueError, match="must not be negative"):
        pipe.transfer(photo, style={"circle": 1, "square": -1})


# ----------------------------------------------------------------------------- command line
def cli(capsys, *argv):
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_generate_and_transfer_write_the_blend(capsys, tiny_dir, pipe, photo, tmp_path):
    code, out, _ = cli(capsys, "generate", "--model", tiny_dir, "--style", "circle=0.5,square=0.3,triangle=0.2",
                       "-n", 2, "--seed", 7, "--size", 32, "--out", tmp_path / "gen")
    assert code == 0
    expected = pipe.generate({"circle": 0.5, "square": 0.3, "triangle": 0.2}, n=2, seed=7)
    for image in expected:
        with Image.open(tmp_path / "gen" / f"blend-{image.info['seed']}.png") as written:
            assert max_diff(written.convert("RGB"), image) == 0
    photo_path = tmp_path / "photo.png"
    photo.save(photo_path)
    code, _, _ = cli(capsys, "transfer", photo_path, "--model", tiny_dir, "--style", "circle=1,square=3",
                     "--seed", 1, "--out", tmp_path / "painted.png")
    assert code == 0
    with Image.open(tmp_path / "painted.png") as written:
        assert max_diff(written.convert("RGB"), pipe.transfer(photo, style={"circle": 1, "square": 3}, seed=1)[0]) == 0


@pytest.mark.parametrize("style, match", [
    ("circle=0.5,square", "'square' is not STYLE=WEIGHT"),
    ("circle=-1,square=1", "must not be negative"),
    ("circle=0,square=0", "must not all be zero"),
    ("circle=1,cubism=1", "unknown style 'cubism'"),
])
def test_cli_bad_blend_exits_2_with_one_line(capsys, tiny_dir, tmp_path, style, match):
    code, out, err = cli(capsys, "generate", "--model", tiny_dir, "--style", style, "--out", tmp_path / "x.png")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("ganstyle generate: error: ") and match in err
    assert not (tmp_path / "x.png").exists()
