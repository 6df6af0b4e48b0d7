"""Saving and loading one network as `config.json` + `model.safetensors`.

Every network of ganstyle is a `PretrainedModule`: a plain `nn.Module` built from a small
dataclass config. The pair of files is all that is needed to rebuild it; no pickle is read
or written. Loading checks the weights against the config and names what does not match.
"""

import dataclasses
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from ..files import read_json, write_json
from .validation import CheckpointError, build_checked, check_config, check_finite

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class PretrainedModule(nn.Module):
    """Base class: subclasses set `config_class` (a dataclass) and take it in `__init__`."""

    config_class: type = None

    def __init__(self, config):
        super().__init__()
        self.config = config

    def save_pretrained(self, folder) -> None:
        """Write `config.json` and the weights (`model.safetensors`) into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / CONFIG_NAME, {"_class_name": type(self).__name__, **dataclasses.asdict(self.config)})
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, folder, device=None):
        """Rebuild the network from `folder`; refuses unknown config fields, values of the wrong
        type or out of range, networks above `validation.MAX_PARAMETERS` (counted before
        allocating), another class's folder, weights whose names or shapes differ from what the
        config builds, and weights holding NaN or infinity."""
        folder = Path(folder)
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        raw = read_json(config_path)
        for old, new in getattr(cls.config_class, "renamed", {}).items():  # format-version-1 keys
            if old in raw and new not in raw:
                raw[new] = raw.pop(old)
        class_name = raw.pop("_class_name", cls.__name__)
        if class_name != cls.__name__:
            raise CheckpointError(f"{config_path} describes a {class_name}, not a {cls.__name__}")
        fields = {f.name for f in dataclasses.fields(cls.config_class)}
        unknown = sorted(set(raw) - fields)
        if unknown:
            raise CheckpointError(f"{config_path} has unknown fields {unknown} for {cls.__name__}")
        check_config(config_path, cls.config_class, raw)
        try:
            config = cls.config_class(**raw)
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{config_path} is not a valid {cls.__name__} config: {err}") from None
        model = build_checked(cls, config, config_path)
        if not weights_path.is_file():
            raise CheckpointError(f"{weights_path} is missing")
        try:
            state = load_file(str(weights_path))
        except Exception as err:  # safetensors raises its own error types for corrupt files
            raise CheckpointError(f"{weights_path} cannot be read as safetensors: {err}") from None
        check_state_matches(model, state, weights_path, config_path)
        check_finite(state, weights_path)
        model.load_state_dict(state)
        return model.to(device).eval() if device is not None else model.eval()


def check_state_matches(model: nn.Module, state: dict, weights_path, config_path) -> None:
    """Raise `CheckpointError` listing missing, unexpected and wrongly shaped tensors."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k}: file {tuple(state[k].shape)} vs config {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    )
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise CheckpointError(f"{weights_path} does not match {config_path}: " + "; ".join(problems))
