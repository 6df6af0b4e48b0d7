"""`ganstyle generate|transfer|interpolate|mix` over the tiny model (issue "Pipeline", point 4):
files written and their sizes, the same images as the Python API, and exit code 2 with a
one-line message on bad arguments. Most runs call `main(argv)` in-process; a few go through
`python -m ganstyle` in a subprocess to check the real entry point."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants as hf_constants
from PIL import Image

import ganstyle.storage.hub
from ganstyle.cli import build_parser, main
from ganstyle.training.settings import TrainSettings, flag_of
from hostile_images import HUGE_16_BIT, THIN, png_bytes
from tiny_model import STYLES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A 301x173 content photo (odd sizes on purpose)."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("photos") / "photo.png"
    Image.fromarray(rng.integers(0, 256, (173, 301, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> tuple:
    folder = tmp_path_factory.mktemp("refs")
    a, b = folder / "ref-a.png", folder / "ref-b.jpg"
    Image.new("RGB", (40, 60), (200, 30, 30)).save(a)
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(b)
    return a, b


def cli(capsys, *argv):
    """Run `ganstyle ARGV` in-process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def opened(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def same(a, b) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def assert_one_line_error(code, out, err, command, match):
    assert code == 2, (code, out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line message, got:\n{err}"
    assert lines[0].startswith(f"ganstyle {command}: error: "), lines[0]
    assert match in lines[0], lines[0]


# ----------------------------------------------------------------------------- generate
def test_generate_writes_one_file_per_seed(capsys, tiny_dir, pipe, tmp_path):
    code, out, err = cli(capsys, "generate", "--model", tiny_dir, "--style", "circle", "-n", 3, "--seed", 5,
                         "--out", tmp_path / "gen")
    assert code == 0, err
    files = sorted((tmp_path / "gen").iterdir())
    assert [f.name for f in files] == ["circle-5.png", "circle-6.png", "circle-7.png"]
    assert out.split() == [str(f) for f in files]
    for seed, path in zip((5, 6, 7), files):
        image = opened(path)
        assert image.size == (256, 256)  # the model draws 32 px; the CLI shows DISPLAY_SIZE by default
        assert same(image, pipe.generate("circle", seed=seed, size=256)[0])


def test_generate_many_shows_progress_and_keeps_seeds(capsys, tiny_dir, pipe, tmp_path):
    code, _, err = cli(capsys, "generate", "--model", tiny_dir, "--style", "triangle", "-n", 20, "--seed", 0,
                       "--out", tmp_path / "many")
    assert code == 0
    assert "generating" in err  # tqdm progress on stderr
    assert len(list((tmp_path / "many").glob("triangle-*.png"))) == 20
    for seed in (0, 15, 16, 19):
        assert same(opened(tmp_path / "many" / f"triangle-{seed}.png"),
                    pipe.generate("triangle", seed=seed, size=256)[0])


def test_generate_single_file_with_size(capsys, tiny_dir, pipe, tmp_path):
    out = tmp_path / "sub" / "one.png"
    code, stdout, _ = cli(capsys, "generate", "--model", tiny_dir, "--style", "random", "--seed", 9,
                          "--truncation", 0.7, "--size", 64, "--out", out)
    assert code == 0 and stdout.strip() == str(out)
    assert same(opened(out), pipe.generate("random", seed=9, truncation=0.7, size=64)[0])


def test_generate_uses_the_default_model_or_its_shipped_copy(capsys, tiny_dir, pipe, tmp_path, monkeypatch):
    """No --model: the default Hub repo; the Hub cannot be reached here (offline mode), so the
    shipped copy is used, and one stderr line says so. Without the copy: a one-line error."""
    monkeypatch.delenv("GANSTYLE_MODEL", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(ganstyle.storage.hub, "SHIPPED_MODEL", tiny_dir)
    code, _, err = cli(capsys, "generate", "--style", "square", "--seed", 1, "--out", tmp_path / "d.png")
    assert code == 0 and same(opened(tmp_path / "d.png"), pipe.generate("square", seed=1, size=256)[0])
    assert err.count("\n") == 1 and err.startswith(f"ganstyle: Model: the shipped folder {tiny_dir} ")
    assert ganstyle.storage.hub.DEFAULT_MODEL in err and "could not be loaded" in err
    monkeypatch.setattr(ganstyle.storage.hub, "SHIPPED_MODEL", tmp_path / "checkpoints" / "absent")
    assert_one_line_error(*cli(capsys, "generate", "--out", tmp_path / "e.png"), "generate",
                          "no model given, no copy of the default model")
    assert not (tmp_path / "e.png").exists()


# ----------------------------------------------------------------------------- transfer
@pytest.mark.parametrize("flag, kwargs", [("--strength", {"strength": 0.6}), ("--paint-side", {"paint_side": 64})])
def test_transfer_keeps_the_photo_size(capsys, tiny_dir, pipe, photo, tmp_path, flag, kwargs):
    """The photo's size is kept; --strength and --paint-side (the brush size) reach the pipeline."""
    out = tmp_path / "styled.png"
    code, _, err = cli(capsys, "transfer", photo, "--model", tiny_dir, "--style", "square", "--seed", 1,
                       flag, *kwargs.values(), "--out", out)
    assert code == 0, err
    assert opened(out).size == (301, 173)
    assert same(opened(out), pipe.transfer(photo, style="square", seed=1, **kwargs)[0])
    assert not same(opened(out), pipe.transfer(photo, style="square", seed=1)[0])  # the flag made a difference


def test_transfer_variants_go_to_a_folder(capsys, tiny_dir, pipe, photo, tmp_path):
    code, _, _ = cli(capsys, "transfer", photo, "--model", tiny_dir, "--style", "circle", "-n", 2, "--seed", 4,
                     "--preserve-color", "--out", tmp_path / "variants")
    assert code == 0
    files = sorted((tmp_path / "variants").iterdir())
    assert [f.name for f in files] == ["photo-circle-4.png", "photo-circle-5.png"]  # photo, style, seed
    expected = pipe.transfer(photo, style="circle", n=2, seed=4, preserve_color=True)
    assert all(same(opened(f), e) for f, e in zip(files, expected))


def test_transfer_into_a_folder_names_the_reference(capsys, tiny_dir, pipe, photo, references, tmp_path):
    code, stdout, _ = cli(capsys, "transfer", photo, "--model", tiny_dir, "--reference", references[1],
                          "--out", tmp_path / "out")
    assert code == 0
    assert [f.name for f in (tmp_path / "out").iterdir()] == ["photo-like-ref-b-000.png"]
    assert stdout.strip() == str(tmp_path / "out" / "photo-like-ref-b-000.png")


def test_transfer_by_reference(capsys, tiny_dir, pipe, photo, references, tmp_path):
    out = tmp_path / "ref.png"
    code, _, _ = cli(capsys, "transfer", photo, "--model", tiny_dir, "--reference", references[1], "--out", out)
    assert code == 0
    assert same(opened(out), pipe.transfer(photo, reference=references[1])[0])
    code, _, _ = cli(capsys, "transfer", photo, "--model", tiny_dir, "--reference", references[1],
                     "--strength", 0, "--out", tmp_path / "zero.png")
    assert code == 0 and same(opened(tmp_path / "zero.png"), opened(photo))


def test_transfer_reads_the_reference_as_the_given_style(capsys, tiny_dir, pipe, photo, references, tmp_path):
    out = tmp_path / "as_square.png"
    code, _, _ = cli(capsys, "transfer", photo, "--model", tiny_dir, "--reference", references[1],
                     "--reference-style", "square", "--out", out)
    assert code == 0
    assert same(opened(out), pipe.transfer(photo, reference=references[1], reference_style="square")[0])
    assert not same(opened(out), pipe.transfer(photo, reference=references[1], reference_style="circle")[0])


# ----------------------------------------------------------------------------- interpolate
def test_interpolate_to_gif(capsys, tiny_dir, tmp_path):
    out = tmp_path / "anim" / "loop.gif"
    code, stdout, _ = cli(capsys, "interpolate", "circle", "square", "--model", tiny_dir, "--steps", 4, "--seed", 2,
                          "--fps", 5, "--out", out)
    assert code == 0 and stdout.strip() == str(out)
    with Image.open(out) as gif:
        assert gif.n_frames == 6 and gif.size == (256, 256) and gif.info["duration"] == 200


def test_interpolate_seeds_to_frames(capsys, tiny_dir, pipe, tmp_path):
    code, _, _ = cli(capsys, "interpolate", "circle:1", "square:2", "--model", tiny_dir, "--steps", 3,
                     "--size", 48, "--out", tmp_path / "frames")
    assert code == 0
    files = sorted((tmp_path / "frames").iterdir())
    assert [f.name for f in files] == ["frame-000.png", "frame-001.png", "frame-002.png"]
    assert same(opened(files[0]), pipe.generate("circle", seed=1, size=48)[0])
    assert same(opened(files[-1]), pipe.generate("square", seed=2, size=48)[0])


def test_interpolate_generation_from_an_image_file(capsys, tiny_dir, pipe, references, tmp_path):
    code, _, _ = cli(capsys, "interpolate", references[0], "square:2", "--model", tiny_dir, "--steps", 3,
                     "--out", tmp_path / "iframes")
    assert code == 0
    files = sorted((tmp_path / "iframes").iterdir())
    expected = pipe.interpolate(Image.open(references[0]), ("square", 2), steps=3, size=256)
    assert len(files) == 3 and all(same(opened(f), e) for f, e in zip(files, expected))


def test_interpolate_transfer_between_references_and_styles(capsys, tiny_dir, photo, references, tmp_path):
    code, _, _ = cli(capsys, "interpolate", references[0], references[1], "--image", photo, "--model", tiny_dir,
                     "--steps", 3, "--out", tmp_path / "tframes")
    assert code == 0
    files = sorted((tmp_path / "tframes").iterdir())
    assert len(files) == 3 and all(opened(f).size == (301, 173) for f in files)
    code, _, _ = cli(capsys, "interpolate", "circle", "triangle", "--image", references[0], "--model", tiny_dir,
                     "--steps", 3, "--seed", 0, "--out", tmp_path / "t.gif")
    assert code == 0
    with Image.open(tmp_path / "t.gif") as gif:
        assert gif.size == (40, 60) and gif.n_frames == 4


# ----------------------------------------------------------------------------- mix
def test_mix_writes_the_mixed_image(capsys, tiny_dir, pipe, tmp_path):
    out = tmp_path / "mix.png"
    code, _, _ = cli(capsys, "mix", "--model", tiny_dir, "--coarse", "circle:1", "--fine", "square:2",
                     "--crossover", 7, "--out", out)
    assert code == 0
    assert same(opened(out), pipe.mix(("circle", 1), ("square", 2), crossover=7, size=256))
    code, _, _ = cli(capsys, "mix", "--model", tiny_dir, "--coarse", "random:3", "--fine", "triangle:4",
                     "--size", 64, "--out", tmp_path / "mixes")
    assert code == 0 and opened(tmp_path / "mixes" / "mix-000.png").size == (64, 64)


# ----------------------------------------------------------------------------- bad arguments
BAD = [  # (command line after the command name, what the message must say)
    ("generate", ["--style", "cubism"], "unknown style 'cubism'; this model knows: " + ", ".join(STYLES)),
    ("generate", ["-n", 0], "-n must be between 1 and 1024"),
    ("generate", ["--seed", -3], "seed must be"),
    ("generate", ["--truncation", "abc"], "invalid float value"),
    ("generate", ["--size", 1025], "size must be between 1 and 1024"),
    ("generate", ["-n", 3, "--out", "{tmp}/one.png"], "one.png"),
    ("mix", ["--coarse", "circle", "--fine", "square:1"], "expected STYLE:SEED"),
    ("mix", ["--coarse", "circle:x", "--fine", "square:1"], "expected STYLE:SEED"),
    ("mix", ["--coarse", "circle:1", "--fine", "cubism:1"], "unknown style 'cubism'"),
    ("mix", ["--coarse", "circle:1", "--fine", "square:1", "--crossover", 99], "crossover must be between"),
    ("transfer", ["{tmp}/missing.jpg", "--style", "circle"], "missing.jpg"),
    ("transfer", ["{photo}", "--style", "circle", "--strength", 2], "strength must be between 0 and 1, got 2.0"),
    ("transfer", ["{photo}", "--style", "cubism"], "unknown style 'cubism'"),
    ("transfer", ["{photo}"], "one of the arguments --style --reference is required"),
    ("transfer", ["{photo}", "--reference", "{tmp}/gone.png"], "gone.png"),
    ("transfer", ["{notimage}", "--style", "circle"], "not an image"),
    ("transfer", ["{photo}", "--style", "circle", "-n", 0], "n must be between"),
    ("transfer", ["{photo}", "--style", "circle", "--paint-side", 4], "paint_side must be between 8 and 1024, got 4"),
    ("interpolate", ["circle", "square", "--steps", 1], "steps must be between 2 and 64"),
    ("interpolate", ["circle", "cubism"], "unknown style 'cubism'"),
    ("interpolate", ["circle", "square", "--out", "{tmp}/anim.avi"], ".gif or .mp4"),
    # found by the fault probe (issue 14): each was a traceback
    ("interpolate", ["circle", "square", "--fps", 0], "--fps must be between 1 and 100, got 0"),
    ("interpolate", ["circle", "square", "--fps", -5], "--fps must be between 1 and 100, got -5"),
    ("interpolate", ["circle:abc", "square"], "expected STYLE:SEED (e.g. monet:3), got 'circle:abc'"),
    ("interpolate", ["circle", "square", "--out", "{notimage}/anim.gif"], "notes.png is a file, not a folder"),
    ("generate", ["--out", "{notimage}/sub/x.png"], "notes.png is a file, not a folder"),
    ("transfer", ["{photo}", "--style", "circle", "--out", "{notimage}/x.png"], "notes.png is a file, not a folder"),
    ("mix", ["--coarse", "circle:1", "--fine", "square:1", "--out", "{notimage}/m.png"], "is a file, not a folder"),
    ("generate", ["--device", "bogus"], "unknown device 'bogus'"),
    ("generate", ["--device", "cuda:7"], "device cuda:7 is not available on this machine"),
    ("transfer", ["{thin}", "--style", "circle"], "is 1x131000 pixels, more than 64:1"),
    ("transfer", ["{photo}", "--reference", "{thin}"], "is 1x131000 pixels, more than 64:1"),
    ("transfer", ["{huge16}", "--style", "circle"], "is 13000x13000 pixels (169 MP); at most 40 MP"),
    ("interpolate", ["{thin}", "square"], "more than 64:1"),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """Small files claiming absurd images (see tests/hostile_images.py)."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "thin.png").write_bytes(png_bytes(**THIN))
    (folder / "huge16.png").write_bytes(png_bytes(**HUGE_16_BIT))
    return {"thin": folder / "thin.png", "huge16": folder / "huge16.png"}


@pytest.mark.parametrize("command, args, match", BAD, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD)])
def test_bad_arguments_exit_2_with_one_line(capsys, tiny_dir, photo, hostile, tmp_path, monkeypatch, command, args,
                                           match):
    monkeypatch.chdir(tmp_path)  # default outputs would land here
    notimage = tmp_path / "notes.png"
    notimage.write_text("not an image")
    fill = {"tmp": tmp_path, "photo": photo, "notimage": notimage, **hostile}
    argv = [str(a).format(**fill) for a in args]
    code, out, err = cli(capsys, command, *argv, "--model", tiny_dir)
    assert_one_line_error(code, out, err, command, match)
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png"]  # nothing written


def test_train_out_naming_a_file_exits_2(capsys, tmp_path):
    (tmp_path / "run").write_text("a file, not a run folder")
    code, out, err = cli(capsys, "train", "--data", tmp_path, "--out", tmp_path / "run", "--steps", 1)
    assert_one_line_error(code, out, err, "train", "is a file; give a folder for the run")


def test_one_slash_relative_model_path_is_checked_locally(capsys, tmp_path, monkeypatch):
    """`runs/export` with a local `runs/` is a missing folder, not a Hub repo id to look up."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    code, out, err = cli(capsys, "generate", "--model", "runs/export")
    assert_one_line_error(code, out, err, "generate", "model folder runs/export does not exist (runs is a local folder")
    assert "offline" not in err


def test_unknown_command_and_bad_model_exit_2(capsys, tmp_path):
    code, _, err = cli(capsys, "frobnicate")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "invalid choice" in err
    assert_one_line_error(*cli(capsys, "generate", "--model", tmp_path / "no-such-model"), "generate",
                          "does not exist")


def test_mp4_without_backend_is_refused_in_one_line(capsys, tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    monkeypatch.setitem(sys.modules, "av", None)
    code, out, err = cli(capsys, "interpolate", "circle", "square", "--model", tiny_dir, "--steps", 2,
                         "--out", tmp_path / "clip.mp4")
    assert_one_line_error(code, out, err, "interpolate", "imageio-ffmpeg")


# ----------------------------------------------------------------------------- real entry point
def test_python_m_ganstyle_generate(tiny_dir, pipe, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganstyle", "generate", "--model", str(tiny_dir),
                             "--style", "square", "-n", "2", "--seed", "3", "--out", str(tmp_path / "out")],
                            env=env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for seed in (3, 4):
        assert same(opened(tmp_path / "out" / f"square-{seed}.png"), pipe.generate("square", seed=seed, size=256)[0])


def test_python_m_ganstyle_bad_argument(tiny_dir, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganstyle", "transfer", str(tmp_path / "missing.png"),
                             "--style", "circle", "--model", str(tiny_dir)],
                            env=env(), capture_output=True, text=True, timeout=180)
    assert_one_line_error(result.returncode, result.stdout, result.stderr, "transfer", "missing.png': no such file")


# ----------------------------------------------------------------------------- train flags from TrainSettings
def _train_parser():
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices["train"]


def test_every_train_setting_has_a_flag_with_its_default_and_help():
    parser, train = _train_parser()
    options = {o: a for a in train._actions for o in a.option_strings}
    for f in dataclasses.fields(TrainSettings):
        action = options[flag_of(f)]
        assert action.dest == f.name and action.help.startswith(f.metadata["help"])
        assert action.choices == f.metadata["choices"]
    args = vars(parser.parse_args(["train", "--data", "d", "--out", "o"]))
    assert {k: v for k, v in args.items() if k not in ("command", "run")} == \
        dataclasses.asdict(TrainSettings(data="d", out="o"))


def test_settings_without_a_flag_before_now_reach_the_run():
    parser, _ = _train_parser()
    args = parser.parse_args(["train", "--data", "d", "--out", "o", "--generator-r1-gamma", "0.5",
                              "--translator-r1-gamma", "2", "--r1-interval", "8", "--mixing-prob", "0.3",
                              "--ema-kimg", "1.5", "--lambda-sty", "2", "--lambda-ds", "0.5", "--lambda-cyc", "3",
                              "--no-augment", "--perceptual", "--seed", "7", "--init-from", "x"])
    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k not in ("command", "run")})
    assert (settings.generator_r1_gamma, settings.translator_r1_gamma, settings.r1_interval, settings.mixing_prob,
            settings.ema_kimg, settings.lambda_sty, settings.lambda_ds, settings.lambda_cyc) == \
        (0.5, 2.0, 8, 0.3, 1.5, 2.0, 0.5, 3.0)
    assert (settings.augment, settings.perceptual, settings.seed, settings.init_from) == (False, True, 7, "x")


def test_train_model_flag_is_a_deprecated_alias_of_components():
    parser, _ = _train_parser()
    with pytest.warns(FutureWarning, match="--model` is deprecated .* use --components"):
        args = parser.parse_args(["train", "--data", "d", "--out", "o", "--model", "generator"])
    assert args.components == "generator"


def test_train_settings_refuse_values_outside_their_choices():
    with pytest.raises(ValueError, match="--components must be one of generator, translator, both, painter, encoder, got 'gan'"):
        TrainSettings(data="d", out="o", components="gan")
    with pytest.raises(ValueError, match="--generator-discriminator must be one of multitask, projected"):
        TrainSettings(data="d", out="o", generator_discriminator="pixel")
