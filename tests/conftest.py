"""Shared fixtures: tiny synthetic style datasets written with PIL, and tiny training runs.

The machine has 2 CPU cores (and may be busy), so every run is resolution 16, batch 4 and a
handful of steps; the runs that several test modules read are session-scoped and built once.
"""

import os

# One thread per process: the suite shares two cores with other work, and oversubscribed
# OpenMP threads make small convolutions orders of magnitude slower. Subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import contextlib
import csv
import random
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from ganstyle.training import tasks as tasks_module
from ganstyle.training import loop as train_module
from ganstyle.data import is_validation
from ganstyle.training.loop import TrainSettings

torch.set_num_threads(1)

STYLES = {
    # style name -> (shape, fill colour, background colour)
    "circles": ("ellipse", (220, 40, 40), (245, 235, 220)),
    "squares": ("rectangle", (40, 180, 60), (20, 20, 40)),
    "triangles": ("polygon", (50, 70, 230), (230, 230, 120)),
}

RESOLUTION = 16
BATCH = 4
SEED = 1234


def draw_shape(size, shape, fill, background, rng) -> Image.Image:
    """One RGB picture: a coloured shape at a random place on a plain background."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    s = rng.randint(min(size) // 3, min(size) * 2 // 3)
    x, y = rng.randint(0, width - s), rng.randint(0, height - s)
    if shape == "polygon":
        draw.polygon([(x, y + s), (x + s // 2, y), (x + s, y + s)], fill=fill)
    else:
        getattr(draw, shape)([x, y, x + s, y + s], fill=fill)
    return image


def write_style_dataset(root: Path, per_style: int = 10, seed: int = 0, styles=STYLES) -> Path:
    """ROOT/<style>/*.png|jpg: `per_style` images per style, 24-40 px, mixed sizes and formats.
    File names are picked so that every style has images on both sides of the validation rule."""
    rng = random.Random(seed)
    root = Path(root)
    for style, (shape, fill, background) in styles.items():
        folder = root / style
        folder.mkdir(parents=True)
        candidates = [f"{style}-{i:03d}{'.jpg' if i % 3 == 2 else '.png'}" for i in range(300)]
        held_out = next(n for n in candidates if is_validation(n))
        names = [held_out] + [n for n in candidates if not is_validation(n)][: per_style - 1]
        assert any(is_validation(n) for n in names) and not all(is_validation(n) for n in names)
        for name in names:
            size = (rng.randint(24, 40), rng.randint(24, 40))
            image = draw_shape(size, shape, fill, background, rng)
            if name.endswith(".jpg"):
                image.save(folder / name, quality=95)
            else:
                image.save(folder / name)
    return root


@pytest.fixture
def style_dataset(tmp_path) -> Path:
    """A fresh 3-style dataset (10 images per style) in this test's tmp_path."""
    return write_style_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> Path:
    """The read-only dataset every training run of the session uses (3 styles x 8 images)."""
    return write_style_dataset(tmp_path_factory.mktemp("train_data") / "styles", per_style=8, seed=1)


def settings_for(data, out, **overrides) -> TrainSettings:
    """Tiny, fast training settings: resolution 16, batch 4."""
    fields = dict(data=str(data), out=str(out), components="both", resolution=RESOLUTION, steps=6,
                  batch_size=BATCH, seed=SEED, checkpoint_every=3, sample_every=3, log_every=1)
    fields.update(overrides)
    return TrainSettings(**fields)


@contextlib.contextmanager
def recording_tasks():
    """Record the Task objects `train()` builds, so tests can reach the in-memory EMA networks."""
    built = []

    def recorder(cls):
        def make(*args, **kwargs):
            task = cls(*args, **kwargs)
            built.append(task)
            return task
        return make

    with pytest.MonkeyPatch.context() as mp:
        for name, cls in list(tasks_module.TASKS.items()):
            mp.setitem(train_module.TASKS, name, recorder(cls))
        yield built


def run_training(settings: TrainSettings):
    """Train in-process; returns (export folder, {task name: task})."""
    with recording_tasks() as built:
        export = train_module.train(settings)
    return export, {t.name: t for t in built}


def read_metrics(run_dir) -> list:
    with open(Path(run_dir) / "logs" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def last_checkpoint(run_dir) -> Path:
    """The newest complete checkpoint folder (with both of its files) of a run."""
    found = sorted((p for p in (Path(run_dir) / "checkpoints").glob("checkpoint-*")
                    if (p / "state.json").is_file() and (p / "state.safetensors").is_file()),
                   key=lambda p: int(p.name.split("-")[1]))
    assert found, f"no checkpoint in {run_dir}"
    return found[-1]


def load_state(checkpoint: Path) -> dict:
    return load_file(str(Path(checkpoint) / "state.safetensors"))


def assert_same_tensors(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    different = [k for k in a if a[k].dtype != b[k].dtype or not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:5]}"


@pytest.fixture(scope="session")
def both_run(tmp_path_factory, train_data):
    """6 steps of --model both (checkpoints at 3 and 6). Returns (settings, export, tasks)."""
    out = tmp_path_factory.mktemp("run_both") / "run"
    settings = settings_for(train_data, out, steps=6)
    export, tasks = run_training(settings)
    return settings, export, tasks


@pytest.fixture(scope="session")
def half_run(tmp_path_factory, train_data):
    """The same run as `both_run`, stopped after 3 steps. Tests copy it before resuming."""
    out = tmp_path_factory.mktemp("run_half") / "run"
    settings = settings_for(train_data, out, steps=3)
    run_training(settings)
    return settings


def copy_run(src, dst) -> Path:
    shutil.copytree(src, dst)
    return Path(dst)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    """A tiny random-weight export (tests/tiny_model.py), one per test module."""
    from tiny_model import build_tiny_export

    return build_tiny_export(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def pipe(tiny_dir):
    """The pipeline over `tiny_dir`, on the CPU."""
    from ganstyle import StylePipeline

    return StylePipeline.from_pretrained(tiny_dir, device="cpu")


@pytest.fixture
def one_thread():
    """Run a test with one torch thread (its timing-insensitive work is small)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
