"""Training checkpoints: networks, EMA copies, optimizer states and the step, with no pickle.

A checkpoint is a folder `checkpoint-<step>/` holding `state.safetensors` (every tensor)
and `state.json` (step, seed, optimizer hyper-parameters, run settings). It is written to
a temporary folder and renamed into place, so a run killed at any moment leaves either the
previous checkpoint or the new one, never half of one. The random stream of each step is
seeded from (seed, process, step), so resuming needs no saved RNG state and continues the
exact sequence an uninterrupted run would have drawn.
"""

import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..nets.pretrained import CheckpointError

_PATTERN = re.compile(r"^checkpoint-(\d+)$")


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
    tmp.mkdir()
    save_file(tensors, str(tmp / "state.safetensors"))
    (tmp / "state.json").write_text(json.dumps({"step": step, "optimizers": opt_meta, **info}, indent=1))
    for f in tmp.iterdir():
        with open(f, "rb") as handle:
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir) -> list:
    """Complete checkpoint folders of a run, oldest first (temporary leftovers are ignored)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _PATTERN.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


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
                f"(different --model, --resolution or styles?): {str(err).splitlines()[0]}"
            ) from None
    for name, optimizer in optimizers.items():
        prefix = f"optim.{name}"
        optimizer.load_state_dict(_unflatten_optimizer(prefix, info["optimizers"][name], tensors))
    return info
