"""Model families: the small interface through which the pipeline, the model folder and
training use a generator or a translator, and the one registry that finds a family's class
from the name stored in `model_index.json`.

A family is a `PretrainedModule` (a plain `nn.Module` built from a config dataclass, saved
as config.json + model.safetensors) that subclasses `Generator` or `Translator` and
implements its methods. Nothing outside the family's own module (and its training task)
touches the networks inside it. Adding a family:

1. write its module in `ganstyle/nets/` (the class, its config, and the methods below);
2. add `"ClassName": "module"` to `BUILTIN` (a family defined outside ganstyle, e.g. in a
   test, calls `register(ClassName)` instead);
3. to train it, write its training step as a `Task` in its own module of
   `ganstyle/training/` and register it in `training/tasks.py`.

Style codes and latents are tensors (or tuples of tensors) whose form the family defines;
callers only obtain them from the family, blend them through it and hand them back.
"""

import importlib
from typing import Sequence

import torch

from ..files import CheckpointError
from .pretrained import PretrainedModule

BUILTIN = {
    # class name stored in model_index.json -> module of ganstyle.nets that defines it
    "StyleGenerator": "generator",
    "StyleTranslator": "translator",
    "Painter": "painter",
    "StyleClassifier": "style_classifier",
}
_REGISTERED = {}


def register(cls: type) -> type:
    """Make `cls` loadable by its class name (for families defined outside ganstyle.nets).
    Refuses a name already taken by another class. Returns `cls`, so it works as a decorator."""
    name = cls.__name__
    if not (isinstance(cls, type) and issubclass(cls, PretrainedModule)):
        raise TypeError(f"{name} must be a PretrainedModule subclass to be registered")
    if name in BUILTIN or _REGISTERED.get(name, cls) is not cls:
        raise ValueError(f"a model class named {name} is already registered")
    _REGISTERED[name] = cls
    return cls


def model_class(name: str) -> type:
    """The class stored under `name` in a model folder; `CheckpointError` naming the known
    ones when there is none."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in BUILTIN:
        return getattr(importlib.import_module(f"{__package__}.{BUILTIN[name]}"), name)
    raise CheckpointError(f"unknown model class {name!r}; this ganstyle knows {', '.join(known_classes())}")


def known_classes() -> list:
    """Every class name `model_class` finds, sorted."""
    return sorted({*BUILTIN, *_REGISTERED})


class Generator(PretrainedModule):
    """Random generation: a latent (drawn from a seed, per style) -> an image in [-1, 1].

    A latent is whatever the family draws (StyleGAN2: w and its noise maps); the pipeline
    draws it, blends or mixes it here and renders it with `synthesize`.
    """

    role = "generator"

    def latent(self, labels: torch.Tensor, generator: torch.Generator, truncation: float = 1.0):
        """A latent per style label (B,), drawn from `generator`; `truncation` in [0, 1]
        pulls it toward the style's average (0: the average itself)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement latent()")

    def average_latent(self, labels: torch.Tensor):
        """The latent of each style's average image."""
        raise NotImplementedError(f"{type(self).__name__} does not implement average_latent()")

    def synthesize(self, latent) -> torch.Tensor:
        """Images (B, 3, R, R) in about [-1, 1] of a latent."""
        raise NotImplementedError(f"{type(self).__name__} does not implement synthesize()")

    def blend_latents(self, a, b, t: float):
        """The latent a fraction t of the way from `a` to `b` (t = 0 and 1 give the ends)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement blend_latents()")

    @property
    def mix_layers(self) -> int:
        """How many layers take a latent; `mix_latents` splits them at 1..mix_layers - 1."""
        raise NotImplementedError(f"{type(self).__name__} does not support style mixing")

    def mix_latents(self, coarse, fine, crossover: int):
        """A latent whose layers before `crossover` come from `coarse`, the rest from `fine`."""
        raise NotImplementedError(f"{type(self).__name__} does not support style mixing")

    inversion_steps = 200
    """Default (and most usual) number of optimization steps of `invert`, for progress bars."""

    def invert(self, target: torch.Tensor, labels: torch.Tensor, steps: int = 200, callback=None):
        """The latent whose image is closest to `target` (B, 3, R, R in [-1, 1]) in the given
        styles (GAN inversion). `callback(step, steps, distance)`, when given, is called after
        every optimization step (a search may stop before `steps`)."""
        raise NotImplementedError(f"{type(self).__name__} does not support inversion")


class Translator(PretrainedModule):
    """Style transfer: a content image and a style code -> the image in that style.

    A style code comes from a style label (with randomness from a seed, for families with
    diverse outputs per style) or from a reference image; codes can be blended.
    """

    role = "translator"

    reference_needs_style = True
    """Whether `style_code_from_reference` needs the reference's style label (StarGAN v2's
    style encoder has one head per style); the pipeline detects it when not given."""

    work_scale = 4.0
    """The largest side the pipeline runs `translate` at, as a multiple of the training
    resolution: a larger picture is translated at that side and brought back up (see
    `StylePipeline._translate`)."""

    keeps_photo_detail = True
    """How a picture translated below its size is brought back up: True adds the upsampled
    change to the full-size picture (the photo's fine detail stays sharp); False upsamples
    the translation itself (a painting has no photo detail to keep)."""

    def style_code(self, labels: torch.Tensor, generator: torch.Generator = None) -> torch.Tensor:
        """Style codes of style labels (B,), random parts drawn from `generator`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement style_code()")

    def style_code_from_reference(self, references: torch.Tensor, labels: torch.Tensor = None) -> torch.Tensor:
        """Style codes of reference images (B, 3, R, R in [-1, 1], R = the model's resolution),
        read as style `labels` when the family needs them."""
        raise NotImplementedError(f"{type(self).__name__} cannot read a reference's style")

    def blend_style_codes(self, codes: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
        """The weighted average of style codes (weights >= 0, not all 0), as a chain of lerps:
        two codes weighted (1 - t, t) give exactly torch.lerp(a, b, t)."""
        weights = [float(w) for w in weights]
        if len(codes) != len(weights) or not codes:
            raise ValueError(f"give one weight per style code, got {len(codes)} codes and {len(weights)} weights")
        if any(w < 0 for w in weights) or not sum(weights) > 0:
            raise ValueError(f"blend weights must be >= 0 and not all 0, got {weights}")
        code, total = None, 0.0
        for c, w in zip(codes, weights):
            if w == 0:
                continue
            total += w
            code = c if code is None else torch.lerp(code, c, w / total)
        return code

    def translate(self, content: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """`content` (B, 3, H, W in [-1, 1], any H and W) painted with `code`, the same size.
        The family picks its inference path (e.g. a faster form of its network)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement translate()")

    @property
    def reference_feature_dim(self):
        """Width of `reference_features`, or None when the family has none (then no style
        classifier can read a reference's style)."""
        return None

    def reference_features(self, references: torch.Tensor) -> torch.Tensor:
        """Features (B, reference_feature_dim) of reference images, what the style classifier reads."""
        raise NotImplementedError(f"{type(self).__name__} has no reference features for a style classifier")
