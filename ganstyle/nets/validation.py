"""Checks on model folders that run before any network is built or any weight is trusted.

A model folder may come from anyone (the Hub, an e-mail). Its JSON files decide how large a
network `from_pretrained` builds, so they are checked first: every config field has its
dataclass's type and a sane range, the network's parameter count is computed on PyTorch's
`meta` device (no memory) and bounded, and the weights, once read, must be finite.
"""

import dataclasses
import math
import typing

import torch

from ..files import CheckpointError

MAX_PARAMETERS = 200_000_000
"""Largest network a config may describe (800 MB of float32 weights; the shipped models are
a few million)."""
MAX_RESOLUTION = 2048
MAX_DEPTH = 64
"""Most layers or blocks a config may ask for in one stack (mapping layers, residual blocks,
downsamplings)."""
MAX_WIDTH = 65_536
"""Largest value of any other integer field (channels, dimensions)."""
MAX_STYLES = 1000
MAX_STYLE_NAME = 100
_DEPTH_FIELDS = ("mapping_layers", "bottleneck_blocks", "num_downsamples")


def _check_field(path, name: str, kind, value) -> None:
    if typing.get_origin(kind) is list:  # e.g. channel widths: each item checked as a plain field
        if not isinstance(value, list):
            raise CheckpointError(f"{path}: {name} must be a list, got {value!r}"[:300])
        for item in value:
            _check_field(path, name, typing.get_args(kind)[0], item)
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CheckpointError(f"{path}: {name} must be an integer, got {value!r}"[:300])
        high = (MAX_RESOLUTION if name == "resolution" else MAX_DEPTH if name in _DEPTH_FIELDS
                else MAX_STYLES if name == "num_styles" else MAX_WIDTH)
        low = 0 if name in _DEPTH_FIELDS else 1
        if not low <= value <= high:
            raise CheckpointError(f"{path}: {name} must be between {low} and {high}, got {value}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CheckpointError(f"{path}: {name} must be a finite number, got {value!r}"[:300])
    elif kind is bool and not isinstance(value, bool):
        raise CheckpointError(f"{path}: {name} must be true or false, got {value!r}"[:300])
    elif kind is str and not isinstance(value, str):
        raise CheckpointError(f"{path}: {name} must be a string, got {value!r}"[:300])


def check_config(path, config_class, raw: dict) -> None:
    """Refuse (CheckpointError naming `path`) a config dict whose values do not have the types
    of `config_class`'s fields or fall outside their ranges (see MAX_*)."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        if field.name in raw:
            _check_field(path, field.name, hints.get(field.name), raw[field.name])


def build_checked(module_class, config, path):
    """`module_class(config)` after counting its parameters on the meta device: refuses a
    config that builds no network, or one above MAX_PARAMETERS, before allocating anything."""
    try:
        with torch.device("meta"):
            parameters = sum(p.numel() for p in module_class(config).parameters())
    except (ArithmeticError, ValueError, TypeError, RuntimeError, IndexError) as err:
        raise CheckpointError(f"{path} does not describe a network that can be built: "
                              f"{type(err).__name__}: {err}"[:400]) from None
    if parameters > MAX_PARAMETERS:
        raise CheckpointError(f"{path} describes a network of {parameters:,} parameters; ganstyle loads at most "
                              f"{MAX_PARAMETERS:,}")
    return module_class(config)


def check_finite(state: dict, path) -> None:
    """Refuse weights holding NaN or infinity (they draw black or garbage images silently)."""
    bad = [name for name, tensor in state.items()
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        shown = ", ".join(bad[:5]) + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
        raise CheckpointError(f"{path} holds NaN or infinite values in {shown}")


def check_index_values(path, index: dict) -> None:
    """Types and ranges of model_index.json: styles a list of 1-MAX_STYLES distinct, non-empty
    names, resolution a power of two from 8 to MAX_RESOLUTION, components a list or object."""
    styles = index["styles"]
    if not isinstance(styles, list) or not all(isinstance(s, str) for s in styles):
        raise CheckpointError(f"{path}: styles must be a list of style names, got {styles!r}"[:300])
    if not 1 <= len(styles) <= MAX_STYLES:
        raise CheckpointError(f"{path}: styles must name 1 to {MAX_STYLES} styles, got {len(styles)}")
    bad = [s for s in styles if not s.strip() or len(s) > MAX_STYLE_NAME]
    if bad:
        raise CheckpointError(f"{path}: style names must be 1 to {MAX_STYLE_NAME} characters, got {bad[0]!r}"[:300])
    duplicates = sorted({s for s in styles if styles.count(s) > 1})
    if duplicates:
        raise CheckpointError(f"{path}: style names must be distinct; repeated: {', '.join(duplicates)}"[:300])
    resolutions = index.get("resolutions", {})
    if not isinstance(resolutions, dict):
        raise CheckpointError(f"{path}: resolutions must map component names to resolutions"[:300])
    for key, resolution in [("resolution", index["resolution"]), *resolutions.items()]:
        if (isinstance(resolution, bool) or not isinstance(resolution, int) or not 8 <= resolution <= MAX_RESOLUTION
                or resolution & (resolution - 1)):
            raise CheckpointError(f"{path}: {key} resolution must be a power of two from 8 to {MAX_RESOLUTION}, "
                                  f"got {resolution!r}"[:300])
    if not isinstance(index["components"], (list, dict)) or not all(isinstance(c, str) for c in index["components"]):
        raise CheckpointError(f"{path}: components must be a list of component names"[:300])
