"""Training checkpoints: networks, EMA copies, optimizer states and the step, with no pickle.

A checkpoint is a folder `checkpoint-<step>/` holding `state.safetensors` (every tensor)
and `state.json` (step, seed, optimizer hyper-parameters, run settings). It is written to
a temporary folder and renamed into place, so a run killed at any moment leaves either the
previous checkpoint or the new one, never half of one. The random stream of each step is
seeded from (seed, process, step), so resuming needs no saved RNG state and continues the
exact sequence an uninterrupted run would have drawn. Old checkpoints are deleted the same
way: renamed to a hidden name, then removed. A write that fails (a full disk) removes its
temporary folder and says so in one `CheckpointError` naming the folder.
"""

import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..files import CheckpointError, write_failure

_PATTERN = re.compile(r"^checkpoint-(\d+)$")
STATE_FILES = ("state.safetensors", "state.json")


def _flatten_optimizer(prefix: str, state: dict, tensors: dict) -> dict:
    """Move the optimizer's tensors into `tensors` under `prefix`; return the JSON-able rest."""
    meta = {"param_groups": state["param_groups"], "state": {}}
    for index, param_state in state["state"].items():
        entry = {}
        for key, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                entry[key] = value
        meta["state"][str(index)] = entry
    return meta


def _unflatten_optimizer(prefix: str, meta: dict, tensors: dict) -> dict:
    state = {int(i): dict(entry) for i, entry in meta["state"].items()}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(run_dir, step: int, modules: dict, optimizers: dict, info: dict, keep: int = 3) -> Path:
    """Atomically write `run_dir/checkpoints/checkpoint-<step>` and drop all but the newest `keep`."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    tensors, opt_meta = {}, {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = value.detach().cpu().contiguous()
    for name, optimizer in optimizers.items():
        opt_meta[name] = _flatten_optimizer(f"optim.{name}", optimizer.state_dict(), tensors)
    final = root / f"checkpoint-{step}"
    tmp = root / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"step": step, "optimizers": opt_meta, **info}, indent=1))
        for f in tmp.iterdir():
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())
    except Exception as err:  # OSError, or safetensors' own error type (e.g. the disk is full)
        shutil.rmtree(tmp, ignore_errors=True)
        previous = list_checkpoints(run_dir)
        kept = f"the last complete checkpoint, {previous[-1].name}, is intact" if previous else "no checkpoint yet"
        raise CheckpointError(f"cannot write checkpoint-{step} in {root}: {write_failure(err)}; {kept}") from None
    if final.exists():
        discard(final)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        discard(old)
    return final


def discard(folder: Path) -> None:
    """Delete a checkpoint folder atomically: renamed to a hidden name first, so a run killed
    during the deletion never leaves a half-deleted folder under a checkpoint's name."""
    trash = folder.with_name(f".{folder.name}.deleting")
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _named_checkpoints(run_dir) -> list:
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _PATTERN.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def _missing_files(folder: Path) -> list:
    return [name for name in STATE_FILES if not (folder / name).is_file()]


def list_checkpoints(run_dir) -> list:
    """Complete checkpoint folders of a run, oldest first. Temporary leftovers, and folders
    named like a checkpoint but lacking one of its files, are not checkpoints."""
    return [p for p in _named_checkpoints(run_dir) if not _missing_files(p)]


def incomplete_checkpoints(run_dir) -> list:
    """(folder, missing file names) of folders named like a checkpoint that lack its files
    (left by a deletion killed half-way before deletions were atomic, or by hand)."""
    return [(p, missing) for p in _named_checkpoints(run_dir) if (missing := _missing_files(p))]


def load_checkpoint(path, modules: dict, optimizers: dict) -> dict:
    """Restore modules and optimizers in place from a checkpoint folder; return its state.json.
    Refuses a checkpoint whose networks do not match the ones being trained."""
    path = Path(path)
    try:
        info = json.loads((path / "state.json").read_text())
        tensors = load_file(str(path / "state.safetensors"))
    except Exception as err:  # OSError, JSON errors, and safetensors' own error type for corrupt files
        raise CheckpointError(f"checkpoint {path} cannot be read: {err}") from None
    for name, module in modules.items():
        prefix = f"model.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {path} does not match the {name} network being trained "
                f"(different --components, --resolution or styles?): {str(err).splitlines()[0]}"
            ) from None
    for name, optimizer in optimizers.items():
        prefix = f"optim.{name}"
        optimizer.load_state_dict(_unflatten_optimizer(prefix, info["optimizers"][name], tensors))
    return info
