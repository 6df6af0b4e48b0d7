"""Training end to end: in-process runs of every model, the CLI in a subprocess, a two-process
`accelerate launch` run, determinism, the files a run writes, and CLI argument errors."""

import csv
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import (
    BATCH,
    RESOLUTION,
    STYLES,
    assert_same_tensors,
    last_checkpoint,
    load_state,
    read_metrics,
    run_training,
    settings_for,
    write_style_dataset,
)
import ganstyle.training.loop as train_module
from ganstyle.training.checkpoint import list_checkpoints
from ganstyle.files import CheckpointError
from ganstyle.cli import main as cli_main
from ganstyle.data import DataError
from ganstyle.storage.model_folder import load_export
from ganstyle.training.loop import MetricsLog, step_seed, train
from ganstyle.training.settings import TrainSettings

REPO = Path(__file__).resolve().parents[1]
STYLE_NAMES = sorted(STYLES)


def subprocess_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_CPU"):
        env.pop(key, None)
    return env


def assert_finite_losses(run_dir, steps, tasks):
    """Every logged loss is a finite number, on every logged step."""
    rows = read_metrics(run_dir)
    assert [int(r["step"]) for r in rows] == list(range(1, steps + 1))
    for task in tasks:
        losses = [k for k in rows[0] if k.startswith(f"{task}/")]
        assert f"{task}/d_loss" in losses and f"{task}/g_loss" in losses
        for row in rows:
            for key in losses:
                if key == "generator/r1" and int(row["step"]) < 4:
                    continue  # lazy R1: first computed at step r1_interval = 4
                value = float(row[key])
                assert math.isfinite(value), f"{key} = {row[key]} at step {row['step']}"
        assert all(float(r[f"{task}/d_loss"]) > 0 for r in rows)
    assert all(float(r["images_per_sec"]) > 0 for r in rows)
    return rows


def assert_export_is_checkpoint_ema(run_dir, components):
    state = load_state(last_checkpoint(run_dir))
    prefixes = {"generator": "model.generator.G_ema.", "translator": "model.translator.T_ema."}
    for component in components:
        prefix = prefixes[component]
        from_checkpoint = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        assert from_checkpoint, f"no {prefix}* tensors in {last_checkpoint(run_dir)}"
        exported = load_file(str(Path(run_dir) / "export" / component / "model.safetensors"))
        assert_same_tensors(exported, from_checkpoint)


# ---------------------------------------------------------------- settings and helpers


@pytest.mark.parametrize("kwargs,message", [
    ({"components": "gan"}, "--components must be one of generator, translator, both, painter, encoder, got 'gan'"),
    ({"steps": 0}, "--steps must be >= 1, got 0"),
    ({"batch_size": 0}, "--batch-size must be >= 1"),
    ({"log_every": -1}, "--log-every must be >= 1"),
    ({"mixed_precision": "fp8"}, "--mixed-precision must be one of no, fp16, bf16"),
    ({"generator_discriminator": "patch"},
     "--generator-discriminator must be one of multitask, projected, got 'patch'"),
    ({"batch_size": 1, "components": "translator"}, "--batch-size must be >= 2 for the translator"),
    ({"style_mismatch": -0.5}, "--style-mismatch must be >= 0, got -0.5"),
    ({"style_mismatch": float("nan")}, "--style-mismatch must be >= 0, got nan"),
    ({"distill_weights": "cezanne"}, "--distill-weights takes STYLE=FACTOR pairs with factors >= 0, separated by "
                                     "commas (e.g. cezanne=0.25); got 'cezanne'"),
    ({"distill_weights": "cezanne=0.5,monet=-1"}, "got 'monet=-1'"),
    ({"distill_weights": "=0.5"}, "got '=0.5'"),
    ({"distill_weights": "monet=half"}, "got 'monet=half'"),
    ({"mismatch_weights": "monet=-0.5"}, "--mismatch-weights takes STYLE=FACTOR pairs with factors >= 0"),
])
def test_settings_refuse_invalid_values(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainSettings(data="d", out="o", **kwargs)
    assert TrainSettings(data="d", out="o", components="generator", batch_size=1).task_names == ["generator"]
    assert TrainSettings(data="d", out="o").task_names == ["generator", "translator"]


def test_step_seeds_differ_per_step_and_process():
    seeds = {step_seed(s, r, t) for s in (0, 1) for r in range(4) for t in range(1, 200)}
    assert len(seeds) == 2 * 4 * 199
    assert step_seed(5, 1, 10) == step_seed(5, 1, 10)
    assert all(0 <= s < 2**63 for s in seeds)


def test_metrics_log_appends_under_the_existing_header(tmp_path):
    log = MetricsLog(tmp_path)
    log.log(1, {"a": 1.0, "b": 2.0})
    log.log(2, {"a": 3.0, "b": 4.0})
    log.close()
    resumed = MetricsLog(tmp_path)  # a resumed run opens the same file
    resumed.log(3, {"b": 6.0, "a": 5.0})
    resumed.close()
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["step", "a", "b"], ["1", "1.0", "2.0"], ["2", "3.0", "4.0"], ["3", "5.0", "6.0"]]
    again = MetricsLog(tmp_path)  # resumed with a loss term turned on: the header widens
    again.log(4, {"a": 7.0, "b": 8.0, "c": 9.0})
    again.close()
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "a", "b", "c"] and rows[1] == ["1", "1.0", "2.0", ""]
    assert rows[-1] == ["4", "7.0", "8.0", "9.0"] and len(rows) == 5


# ---------------------------------------------------------------- in-process training runs


def test_both_models_train_and_write_every_artifact(both_run):
    settings, export, tasks = both_run
    run = Path(settings.out)
    rows = assert_finite_losses(run, 6, ["generator", "translator"])
    assert float(rows[-1]["lr/generator.G"]) == settings.lr_generator
    assert float(rows[-1]["lr/translator.T"]) == settings.lr_translator
    assert math.isfinite(float(rows[3]["generator/r1"]))  # step 4 is an R1 step
    # checkpoints at every --checkpoint-every and at the end
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-3", "checkpoint-6"]
    info = json.loads((last_checkpoint(run) / "state.json").read_text())
    assert info["step"] == 6 and info["seed"] == settings.seed and info["styles"] == STYLE_NAMES
    assert info["settings"]["resolution"] == RESOLUTION and info["settings"]["components"] == "both"
    assert info["images_per_style"] == {s: 8 for s in STYLE_NAMES}
    assert not list((run / "checkpoints").glob(".*"))  # no temporary folder left
    # sample grids of fixed seeds
    pad = 2
    expected_sizes = {
        "generator": (8 * (RESOLUTION + pad) + pad, 3 * (RESOLUTION + pad) + pad),  # 8 per style x 3 styles
        "translator": (4 * (RESOLUTION + pad) + pad, 6 * (RESOLUTION + pad) + pad),  # content + 3 styles, 6 rows
    }
    for step in (3, 6):
        for task, size in expected_sizes.items():
            with Image.open(run / "samples" / f"{task}-{step:07d}.png") as image:
                assert image.size == size
    # logs: CSV always, TensorBoard events when tensorboard is installed
    assert (run / "logs" / "metrics.csv").is_file()
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        pass
    else:
        assert list((run / "logs").glob("events.out.tfevents.*"))
    # export: both components, all styles
    index, modules = load_export(export)
    assert set(modules) == {"generator", "translator", "style_classifier"} and index["styles"] == STYLE_NAMES
    assert modules["style_classifier"].config.num_styles == len(STYLE_NAMES)
    with torch.no_grad():
        images = modules["generator"](torch.randn(3, modules["generator"].config.latent_dim), torch.tensor([0, 1, 2]))
    assert images.shape == (3, 3, RESOLUTION, RESOLUTION) and torch.isfinite(images).all()
    assert_export_is_checkpoint_ema(run, ["generator", "translator"])
    assert set(tasks) == {"generator", "translator"}


@pytest.fixture(scope="module")
def generator_runs(tmp_path_factory, train_data):
    """Three 4-step generator runs: two with the same seed, one with another seed."""
    root = tmp_path_factory.mktemp("generator_runs")
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        settings = settings_for(train_data, root / name, components="generator", steps=4, seed=seed,
                                checkpoint_every=2, sample_every=4)
        runs[name] = (settings, *run_training(settings))
    return runs


def test_generator_model_trains(generator_runs):
    settings, export, tasks = generator_runs["a"]
    rows = assert_finite_losses(settings.out, 4, ["generator"])
    assert not any(k.startswith("translator/") for k in rows[0])
    assert math.isfinite(float(rows[3]["generator/r1"]))
    index, modules = load_export(export)
    assert list(modules) == ["generator"] and index["components"] == {"generator": "StyleGenerator"}
    assert [p.name for p in list_checkpoints(settings.out)] == ["checkpoint-2", "checkpoint-4"]
    assert (Path(settings.out) / "samples" / "generator-0000004.png").is_file()
    assert not (Path(settings.out) / "samples" / "translator-0000004.png").exists()
    assert_export_is_checkpoint_ema(settings.out, ["generator"])
    # the per-style mean w used for truncation was tracked during training
    assert (modules["generator"].w_avg.abs().sum(dim=1) > 0).all()


def test_same_seed_gives_identical_weights_and_another_seed_does_not(generator_runs):
    exports = {name: load_file(str(run[1] / "generator" / "model.safetensors")) for name, run in generator_runs.items()}
    assert_same_tensors(exports["a"], exports["b"])
    assert_same_tensors(load_state(last_checkpoint(generator_runs["a"][0].out)),
                        load_state(last_checkpoint(generator_runs["b"][0].out)))
    assert not torch.equal(exports["a"]["const"], exports["c"]["const"])
    rows_a, rows_b = read_metrics(generator_runs["a"][0].out), read_metrics(generator_runs["b"][0].out)
    assert [r["generator/g_loss"] for r in rows_a] == [r["generator/g_loss"] for r in rows_b]


def test_style_mismatch_adds_a_term_to_the_discriminator_only(generator_runs, train_data, tmp_path):
    """The matching-aware term: logged on its own, outside d_loss; the step's losses up to it
    are run "a"'s (same seed), the generator's loss after the discriminator's update is not."""
    settings = settings_for(train_data, tmp_path / "run", components="generator", steps=2, seed=7,
                            style_mismatch=1.0)
    run_training(settings)
    rows, plain = read_metrics(settings.out), read_metrics(generator_runs["a"][0].out)
    assert all(math.isfinite(float(r["generator/d_mismatch"])) and float(r["generator/d_mismatch"]) > 0
               for r in rows)
    assert "generator/d_mismatch" not in plain[0]
    assert rows[0]["generator/d_loss"] == plain[0]["generator/d_loss"]
    assert rows[0]["generator/g_loss"] != plain[0]["generator/g_loss"]


def test_generator_noise_from_reaches_the_exported_generator(train_data, tmp_path):
    settings = settings_for(train_data, tmp_path / "run", components="generator", steps=1, generator_noise_from=8)
    export, _ = run_training(settings)
    _, modules = load_export(export)
    assert modules["generator"].config.noise_min_resolution == 8
    assert json.loads((export / "generator" / "config.json").read_text())["noise_min_resolution"] == 8


def test_mismatched_labels_move_every_image_to_another_style_by_one_offset():
    from ganstyle.training.task import mismatched_labels

    labels = torch.tensor([0, 0, 3, 3, 4, 4, 1, 1])
    torch.manual_seed(0)
    offsets = set()
    for _ in range(40):
        wrong = mismatched_labels(labels, range(5))
        assert (wrong != labels).all() and ((wrong >= 0) & (wrong < 5)).all()
        offsets |= set(((wrong - labels) % 5).tolist())
        assert len(set(((wrong - labels) % 5).tolist())) == 1  # one offset for the whole batch
    assert offsets == {1, 2, 3, 4}


def test_generator_trains_on_a_single_style_but_the_translator_refuses(tmp_path):
    data = write_style_dataset(tmp_path / "one", per_style=4, styles={"circles": STYLES["circles"]})
    export = train(settings_for(data, tmp_path / "run", components="generator", steps=1, checkpoint_every=1))
    index, _ = load_export(export)
    assert index["styles"] == ["circles"]
    with pytest.raises(DataError, match="this model needs at least 2"):
        train(settings_for(data, tmp_path / "run2", components="translator", steps=1))
    with pytest.raises(DataError, match=r"--style-mismatch needs at least 2 styles .* has one \(circles\)"):
        train(settings_for(data, tmp_path / "run3", components="generator", steps=1, style_mismatch=1.0))


def test_translator_model_trains_via_the_cli_subprocess(train_data, tmp_path):
    out = tmp_path / "translator_run"
    cmd = [sys.executable, "-m", "ganstyle", "train", "--data", str(train_data), "--out", str(out),
           "--components", "translator", "--resolution", str(RESOLUTION), "--steps", "6", "--batch-size", str(BATCH),
           "--seed", "3", "--checkpoint-every", "3", "--sample-every", "3", "--log-every", "1"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == f"export written to {out / 'export'}"
    rows = assert_finite_losses(out, 6, ["translator"])
    for key in ("translator/r1", "translator/style_loss", "translator/ds_loss", "translator/cycle_loss"):
        assert all(math.isfinite(float(r[key])) for r in rows)
    assert not any(k.startswith("generator/") for k in rows[0])
    index, modules = load_export(out / "export")
    assert set(modules) == {"translator", "style_classifier"} and index["styles"] == STYLE_NAMES
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-3", "checkpoint-6"]
    assert (out / "samples" / "translator-0000006.png").is_file()
    assert_export_is_checkpoint_ema(out, ["translator"])
    assert "--components translator" in index["training"]["command"]


@pytest.mark.slow
def test_two_process_accelerate_launch(train_data, tmp_path):
    """Two CPU processes with gloo. `accelerate launch --cpu` runs a single process unless MPI is
    available, so the launch goes through torchrun (`--multi_gpu`); train() asks accelerate for its
    CPU backend when it is launched as several processes on a machine without a GPU."""
    out = tmp_path / "ddp_run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
           "-m", "ganstyle", "train", "--data", str(train_data), "--out", str(out), "--components", "both",
           "--resolution", str(RESOLUTION), "--steps", "4", "--batch-size", str(BATCH), "--seed", "11",
           "--checkpoint-every", "2", "--sample-every", "4", "--log-every", "1"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    # one main process announced the run; both processes finished (each CLI prints the export path)
    assert output.count("training both on 24 images") == 1, output[-4000:]
    assert output.count(f"export written to {out / 'export'}") == 2
    assert_finite_losses(out, 4, ["generator", "translator"])
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-2", "checkpoint-4"]
    assert not list((out / "checkpoints").glob(".*")) and not (out / "export.tmp").exists()
    assert_export_is_checkpoint_ema(out, ["generator", "translator"])
    index, modules = load_export(out / "export")
    assert set(modules) == {"generator", "translator", "style_classifier"}


# ---------------------------------------------------------------- CLI argument errors


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.err


@pytest.mark.parametrize("extra,message", [
    (["--steps", "0"], "ganstyle train: error: --steps must be >= 1, got 0"),
    (["--batch-size", "1", "--components", "translator"],
     "ganstyle train: error: --batch-size must be >= 2 for the translator"),
    (["--checkpoint-every", "0"], "ganstyle train: error: --checkpoint-every must be >= 1, got 0"),
])
def test_cli_bad_settings_exit_2_with_one_line(extra, message, capsys, tmp_path, train_data):
    code, err = run_cli(["train", "--data", str(train_data), "--out", str(tmp_path / "o")] + extra, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.strip().startswith(message)
    assert not (tmp_path / "o").exists()


def test_cli_missing_dataset_exits_2_with_one_line(capsys, tmp_path):
    code, err = run_cli(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err.strip() == f"ganstyle train: error: dataset folder {tmp_path / 'missing'} does not exist"


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--out", "o"], "the following arguments are required: --data"),
    (["train", "--data", "d", "--out", "o", "--components", "gan"], "argument --components: invalid choice: 'gan'"),
    (["train", "--data", "d", "--out", "o", "--steps", "many"], "argument --steps: invalid int value: 'many'"),
    (["train", "--data", "d", "--out", "o", "--bogus"], "unrecognized arguments: --bogus"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required: command"),
])
def test_cli_argument_errors_exit_2(argv, fragment, capsys):
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, err  # one message line (argparse may print the usage before it)
    assert errors[0] == lines[-1] and lines[-1].startswith("ganstyle") and fragment in lines[-1]
    assert all(line.startswith(("usage: ganstyle", " ")) for line in lines[:-1]), err


def test_cli_resume_mismatch_exits_2(half_run, tmp_path, capsys):
    run = shutil.copytree(half_run.out, tmp_path / "run")
    argv = ["train", "--data", half_run.data, "--out", str(run), "--components", "generator", "--resolution", "16",
            "--steps", "6", "--batch-size", "4", "--resume"]
    code, err = run_cli(argv, capsys)
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"ganstyle train: error: cannot resume from {run / 'checkpoints' / 'checkpoint-3'}")
    assert "components: checkpoint 'both' vs now 'generator'" in last


def test_init_from_export_starts_fine_tuning_from_its_weights(both_run, train_data, tmp_path):
    _, export, _ = both_run
    settings = settings_for(train_data, tmp_path / "ft", steps=1, init_from=str(export))
    tasks = [train_module.TASKS[name](settings, *_accelerator_and_bank(settings)) for name in settings.task_names]
    fresh = train_module._init_from_export(export, tasks, settings.resolution)
    assert fresh == []
    _, exported = load_export(export)
    for task in tasks:
        for module in task.generating_modules():
            assert_same_tensors(module.state_dict(), exported[task.name].state_dict())


def test_init_from_with_other_styles_keeps_shared_weights_and_reinitializes_style_heads(both_run, tmp_path):
    _, export, _ = both_run
    data = write_style_dataset(tmp_path / "two_styles", per_style=4, styles=dict(list(STYLES.items())[:2]))
    settings = settings_for(data, tmp_path / "ft", steps=1, components="generator", init_from=str(export))
    task = train_module.TASKS["generator"](settings, *_accelerator_and_bank(settings))
    fresh = train_module._init_from_export(export, [task], settings.resolution)
    assert "generator.w_avg" in fresh and "generator.mapping.embed.weight" in fresh
    _, exported = load_export(export)
    assert torch.equal(task.G_ema.const, exported["generator"].const)


def test_init_from_a_coarser_generator_grows_it(both_run, train_data, tmp_path):
    """A 16 px export starts a 32 px generator: every layer up to 16 px is copied, the 32 px
    layers and their noise map start fresh (progressive growing)."""
    _, export, _ = both_run
    settings = settings_for(train_data, tmp_path / "ft", resolution=32, components="generator", init_from=str(export))
    task = train_module.TASKS["generator"](settings, *_accelerator_and_bank(settings))
    fresh = train_module._init_from_export(export, [task], settings.resolution)
    _, exported = load_export(export)
    source = exported["generator"].state_dict()
    grown = task.G_ema.state_dict()
    assert fresh and all(k.startswith(("generator.convs.", "generator.to_rgbs.", "generator.noise_const_"))
                         for k in fresh)
    assert set(grown) - set(source) == {k.removeprefix("generator.") for k in fresh}
    assert_same_tensors({k: grown[k] for k in source}, source)


@pytest.mark.parametrize("components, resolution", [("generator", 8), ("translator", 32)])
def test_init_from_refuses_another_resolution(both_run, train_data, tmp_path, components, resolution):
    """A generator cannot shrink and a translator cannot grow: the message names the export's size."""
    _, export, _ = both_run
    settings = settings_for(train_data, tmp_path / "ft", resolution=resolution, components=components,
                            init_from=str(export))
    task = train_module.TASKS[components](settings, *_accelerator_and_bank(settings))
    with pytest.raises(CheckpointError, match=f"has a 16 px {components}; train it at --resolution 16"):
        train_module._init_from_export(export, [task], settings.resolution)


def _accelerator_and_bank(settings):
    from accelerate import Accelerator

    from ganstyle.data import ImageBank
    from ganstyle.training.tasks import min_styles

    return Accelerator(cpu=True), ImageBank(settings.data, settings.resolution, min_styles(settings.components))


def test_translator_trains_with_perceptual_losses(train_data, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="--perceptual needs efficientnet-lite-pytorch")
    settings = settings_for(train_data, tmp_path / "run", components="translator", steps=2, perceptual=True)
    run_training(settings)
    rows = read_metrics(settings.out)
    for key in ("translator/content_loss", "translator/feature_style_loss"):
        assert math.isfinite(float(rows[-1][key]))


def test_cli_perceptual_loss_weights_reach_the_run_settings(train_data, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="--perceptual needs efficientnet-lite-pytorch")
    out = tmp_path / "run"
    argv = ["train", "--data", str(train_data), "--out", str(out), "--components", "translator", "--perceptual",
            "--resolution", str(RESOLUTION), "--steps", "1", "--batch-size", str(BATCH), "--seed", "0",
            "--lambda-content", "0.05", "--lambda-feature-style", "0.2"]
    assert cli_main(argv) in (0, None)
    saved = json.loads((list_checkpoints(out)[-1] / "state.json").read_text())["settings"]
    assert (saved["lambda_content"], saved["lambda_feature_style"]) == (0.05, 0.2)


def test_generator_trains_and_resumes_with_the_projected_discriminator(train_data, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch",
                        reason="the projected discriminator needs efficientnet-lite-pytorch")
    settings = settings_for(train_data, tmp_path / "run", components="generator", steps=3,
                            generator_discriminator="projected")
    export, tasks = run_training(settings)
    rows = read_metrics(settings.out)
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert all(math.isfinite(float(r["generator/d_loss"])) and math.isfinite(float(r["generator/g_loss"]))
               for r in rows)
    assert "generator/r1" not in rows[0]  # Projected GAN trains without R1
    checkpoint = load_state(last_checkpoint(settings.out))
    assert any(k.startswith("model.generator.D.scales.") for k in checkpoint)
    assert not any("projector" in k or "_blocks" in k for k in checkpoint)  # the frozen part is rebuilt, not saved
    index, exported = load_export(export)
    assert index["resolution"] == RESOLUTION and list(exported) == ["generator"]
    with pytest.raises(CheckpointError, match=r"generator_discriminator: checkpoint 'projected' vs now 'multitask'"):
        train(settings_for(train_data, settings.out, components="generator", steps=4, resume=True))


def test_cli_learning_rates_reach_the_optimizers(train_data, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--data", str(train_data), "--out", str(out), "--components", "both",
            "--resolution", str(RESOLUTION), "--steps", "1", "--batch-size", str(BATCH), "--seed", "0", "--log-every", "1",
            "--lr-generator", "0.0005", "--lr-translator", "0.0001"]
    assert cli_main(argv) in (0, None)
    row = read_metrics(out)[0]
    assert float(row["lr/generator.G"]) == pytest.approx(0.0005)
    assert float(row["lr/translator.T"]) == pytest.approx(0.0001)


def test_a_resumed_run_takes_its_own_learning_rate(train_data, tmp_path):
    out = tmp_path / "run"
    train(settings_for(train_data, out, components="generator", steps=3))
    train(settings_for(train_data, out, components="generator", steps=4, resume=True, lr_generator=2e-4))
    rows = read_metrics(out)
    assert [float(r["lr/generator.G"]) for r in rows] == pytest.approx([2e-3] * 3 + [2e-4])
    assert float(rows[-1]["lr/generator.D"]) == pytest.approx(2e-4 * 4 / 5)  # lazy R1 correction


def test_checkpoints_from_before_components_still_resume():
    """Checkpoints written when the setting was called `model` resume under `components`."""
    from ganstyle.training.loop import _check_resumable

    settings = TrainSettings(data="d", out="o", components="generator")
    saved = dataclasses.asdict(settings)
    saved["model"] = saved.pop("components")
    _check_resumable({"settings": saved, "styles": ["a"]}, settings, ["a"], "ckpt")
    saved["model"] = "both"
    with pytest.raises(CheckpointError, match="components: checkpoint 'both' vs now 'generator'"):
        _check_resumable({"settings": saved, "styles": ["a"]}, settings, ["a"], "ckpt")
