"""The training loop under Hugging Face Accelerate: one CPU, one GPU, or many processes.

    ganstyle train --data ROOT --out RUN_DIR --model both --resolution 64 --steps 20000
    accelerate launch --num_processes 2 -m ganstyle train ...

RUN_DIR gets `checkpoints/` (resumable state), `export/` (the inference folder, rewritten
at every checkpoint), `samples/` (grids of fixed seeds) and `logs/` (CSV, TensorBoard).
Only the main process writes; every process ends with the same weights.
"""

import csv
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from tqdm.auto import tqdm

from .settings import TrainSettings
from .checkpoint import incomplete_checkpoints, list_checkpoints, load_checkpoint, save_checkpoint
from ..data import ImageBank
from ..files import CheckpointError, atomic_path, read_json
from ..storage.model_folder import INDEX_NAME, load_export, save_export
from .tasks import TASKS, min_styles

# Settings that must match between a checkpoint and a resumed run.
_RESUME_KEYS = ("components", "resolution", "split", "batch_size", "grad_accum", "augment", "generator_d_channel_base",
                "generator_discriminator")
# Values of resume keys added after the first runs, for checkpoints written before them.
_RESUME_DEFAULTS = {"generator_d_channel_base": 1024, "generator_discriminator": "multitask"}


def step_seed(seed: int, rank: int, step: int) -> int:
    """Seed of the random stream of one step on one process (makes resume exact)."""
    return (seed * 1_000_003 + rank * 7_919 + step) % (2**63)


class MetricsLog:
    """CSV log (always) and TensorBoard scalars (when tensorboard is installed)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "metrics.csv"
        self.fields = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(folder))
        except ImportError:
            self.tensorboard = None

    def log(self, step: int, values: dict) -> None:
        row = {"step": step, **{k: round(v, 6) for k, v in values.items()}}
        if self.fields is None:
            self.fields = list(row)
            if self.path.exists():  # resumed run: keep appending under the existing header
                with open(self.path, newline="") as f:
                    header = next(csv.reader(f), None)
                self.fields = header or self.fields
        added = [k for k in row if k not in self.fields]
        if added:  # a resumed run that logs more (a loss term turned on): widen the header
            self.fields += added
            self._rewrite()
        new_file = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        if self.tensorboard is not None:
            for key, value in values.items():
                self.tensorboard.add_scalar(key, value, step)

    def _rewrite(self) -> None:
        """Rewrite the file under the current header (earlier rows leave new columns empty)."""
        if not self.path.exists():
            return
        with open(self.path, newline="") as f:
            rows = list(csv.DictReader(f))
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            writer.writeheader()
            writer.writerows(rows)

    def close(self):
        if self.tensorboard is not None:
            self.tensorboard.close()


def _make_accelerator(settings: TrainSettings) -> Accelerator:
    """The Accelerator of this process. Under a multi-process launcher (torchrun,
    `accelerate launch --multi_gpu --num_processes N`) on a machine without a GPU, accelerate
    only sets up its CPU (gloo) process group when asked for the CPU; without `cpu=True`
    every process would train alone, believe it is the main process and write the run folder."""
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    api = getattr(torch, "accelerator", None)
    has_device = api.is_available() if hasattr(api, "is_available") else torch.cuda.is_available()
    return Accelerator(mixed_precision=settings.mixed_precision, cpu=launched and not has_device)


def _configure_threads(accelerator: Accelerator) -> None:
    """Share the CPU cores between local processes unless the user set OMP_NUM_THREADS."""
    if accelerator.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // accelerator.num_processes))


def _resume_state(settings, accelerator):
    """The checkpoint folder to resume from (or None), after checking its settings."""
    if not settings.resume:
        return None
    for folder, missing in incomplete_checkpoints(settings.out):
        accelerator.print(f"--resume: skipping {folder}: incomplete (no {' or '.join(missing)})")
    found = list_checkpoints(settings.out)
    if not found:
        accelerator.print(f"--resume: no checkpoint in {settings.out}/checkpoints, starting a new run")
        return None
    return found[-1]


def export_step(folder) -> Optional[int]:
    """The training step an export folder was written at (None: missing or unreadable)."""
    try:
        steps = read_json(Path(folder) / INDEX_NAME).get("training", {}).get("steps")
    except (CheckpointError, AttributeError):
        return None
    return steps if isinstance(steps, int) else None


def _check_resumable(info: dict, settings: TrainSettings, styles: list, path) -> None:
    saved = dict(info.get("settings", {}))
    if "model" in saved:  # checkpoints written before --model became --components
        saved["components"] = saved.pop("model")
    saved = {**_RESUME_DEFAULTS, **saved}
    diffs = [f"{k}: checkpoint {saved.get(k)!r} vs now {getattr(settings, k)!r}"
             for k in _RESUME_KEYS if saved.get(k) != getattr(settings, k)]
    if info.get("styles") != styles:
        diffs.append(f"styles: checkpoint {info.get('styles')} vs data {styles}")
    if diffs:
        raise CheckpointError(f"cannot resume from {path}: " + "; ".join(diffs))


def _init_from_export(folder, tasks, resolution: int) -> list:
    """Fine-tuning: start each task's generating network and its EMA copy from an export
    folder. Tensors whose name and shape match are copied; the rest (per-style heads when
    the number of styles differs, a network part the export lacks, the finer layers when a
    task that `grows` starts from a coarser export) keep their fresh initialization and are
    returned. The discriminator starts fresh: exports do not carry it."""
    index, exported = load_export(folder)
    fresh = []
    for task in tasks:
        component = getattr(task, "component", task.name)
        own = index.get("resolutions", {}).get(component, index["resolution"])
        if component in exported and own != resolution and not (task.grows and own < resolution):
            grow = " (or higher, to grow it)" if task.grows else ""
            raise CheckpointError(f"--init-from {folder} has a {own} px {component}; train it at --resolution "
                                  f"{own}{grow}")
        if component not in exported or type(exported[component]) is not type(task.generating_modules()[0]):
            raise CheckpointError(f"--init-from {folder} has no {task.name} to start from")
        source = exported[component].state_dict()
        for module in task.generating_modules():
            state = module.state_dict()
            matching = {k: v for k, v in source.items() if k in state and v.shape == state[k].shape}
            module.load_state_dict(matching, strict=False)
        fresh += [f"{task.name}.{k}" for k in state if k not in matching]
    return fresh


def _ranks_agree(accelerator, modules: dict) -> bool:
    """True when every process holds the same weights (checksum of all parameters)."""
    if accelerator.num_processes == 1:
        return True
    total = torch.zeros(1, dtype=torch.float64, device=accelerator.device)
    for module in modules.values():
        for i, p in enumerate(module.parameters()):
            total += (p.detach().double() * (i % 7 + 1)).sum()
    gathered = accelerator.gather(total)
    return bool((gathered == gathered[0]).all())


def train(settings: TrainSettings) -> Path:
    """Train (or resume) a run; returns the path of the final export folder."""
    accelerator = _make_accelerator(settings)
    _configure_threads(accelerator)
    main = accelerator.is_main_process
    out = Path(settings.out)
    bank = ImageBank(settings.data, settings.resolution, min_styles(settings.components), settings.split,
                     show_progress=main)

    resume_from = _resume_state(settings, accelerator)
    seed = settings.seed
    if resume_from is not None:
        saved_info = json.loads((resume_from / "state.json").read_text())
        _check_resumable(saved_info, settings, bank.styles, resume_from)
        seed = saved_info["seed"]
    if seed is None:
        seed = broadcast_object_list([int(torch.randint(2**31, ()))])[0]
    torch.manual_seed(seed)  # identical initial weights on every process
    tasks = [TASKS[name](settings, accelerator, bank) for name in settings.task_names]
    modules = {f"{t.name}.{k}": m for t in tasks for k, m in t.modules().items()}
    optimizers = {f"{t.name}.{k}": o for t in tasks for k, o in t.optimizers().items()}

    start = 0
    if resume_from is not None:
        configured = {name: [g["lr"] for g in o.param_groups] for name, o in optimizers.items()}
        info = load_checkpoint(resume_from, modules, optimizers)
        for name, optimizer in optimizers.items():  # this run's learning rates, e.g. lowered on resume
            for group, lr in zip(optimizer.param_groups, configured[name]):
                group["lr"] = lr
        start = info["step"]
        accelerator.print(f"resumed from {resume_from} at step {start}")
    elif settings.init_from:
        fresh = _init_from_export(settings.init_from, tasks, settings.resolution)
        accelerator.print(f"initialized from {settings.init_from}"
                          + (f"; {len(fresh)} tensors start fresh" if fresh else ""))
    if start >= settings.steps:
        accelerator.print(f"already at step {start} >= --steps {settings.steps}; nothing to train")

    info = {
        "seed": seed,
        "styles": bank.styles,
        "settings": dataclasses.asdict(settings),
        "images_per_style": bank.counts(),
    }
    log = MetricsLog(out / "logs") if main else None
    if main:
        accelerator.print(f"training {settings.components} on {len(bank)} images: {bank.counts()}")

    def write_export(step: int) -> None:
        training = {"steps": step, "command": " ".join(sys.argv), "data": str(settings.data), "split": settings.split,
                    "images_per_style": bank.counts(), "batch_size": settings.batch_size}
        save_export(out / "export", bank.styles, settings.resolution,
                    {k: m for t in tasks for k, m in t.export_modules().items()}, extra={"training": training})

    def write_checkpoint(step: int) -> None:
        save_checkpoint(out, step, modules, optimizers, info, keep=settings.keep_checkpoints)
        write_export(step)

    images_per_step = settings.batch_size * settings.grad_accum * accelerator.num_processes
    progress = tqdm(total=settings.steps, initial=start, desc="training", disable=not main, unit="step")
    tick, tick_step = time.perf_counter(), start
    for step in range(start + 1, settings.steps + 1):
        torch.manual_seed(step_seed(seed, accelerator.process_index, step))
        logs = {}
        for task in tasks:
            logs.update({f"{task.name}/{k}": float(v) for k, v in task.train_step(step).items()})
        progress.update(1)
        if main and (step % settings.log_every == 0 or step == settings.steps):
            elapsed = time.perf_counter() - tick
            speed = images_per_step * (step - tick_step) / max(elapsed, 1e-9)
            tick, tick_step = time.perf_counter(), step
            progress.set_postfix(img_s=f"{speed:.1f}")
            lrs = {f"lr/{name}": o.param_groups[0]["lr"] for name, o in optimizers.items()}
            log.log(step, {**logs, **lrs, "images_per_sec": speed})
        if main and (step % settings.sample_every == 0 or step == settings.steps):
            (out / "samples").mkdir(parents=True, exist_ok=True)
            for task in tasks:
                task.sample_grid().save(out / "samples" / f"{task.name}-{step:07d}.png")
        if main and (step % settings.checkpoint_every == 0 or step == settings.steps):
            try:
                write_checkpoint(step)
            except CheckpointError:  # e.g. a full disk: end the progress line, so the error has its own
                progress.close()
                raise
    progress.close()
    if not _ranks_agree(accelerator, modules):
        raise RuntimeError("processes ended with different weights; gradient averaging failed")
    if main and start >= settings.steps and export_step(out / "export") != start:
        # a run killed after its last checkpoint but before (or while) writing the export
        accelerator.print(f"the export in {out / 'export'} is older than step {start}; rewriting it from {resume_from}")
        write_export(start)
    if log is not None:
        log.close()
    accelerator.wait_for_everyone()
    return out / "export"
