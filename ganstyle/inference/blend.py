"""Weighted blends of styles: one style code from several, e.g. {"monet": 0.5, "ukiyoe": 0.3, "vangogh": 0.2}.

A blend maps style names (or, for transfer, reference image files) to non-negative weights. Each
entry gives its own style code, all drawn from the same seed: the generator's latent w of
that style, or the translator's style code s. The blend's code is their weighted average,
with the weights normalized to sum to 1. Both networks read a code only through learned
affine layers (StyleGAN2's modulation, StarGAN v2's AdaIN), so an average of codes is a code
they can render, and it lands between the styles' looks in proportion to the weights: the
same reason an interpolation between two styles (a blend with weights 1 - t and t) works.
The averaging goes through the model family's own blend (`Generator.blend_latents`,
`Translator.blend_style_codes`), so it works for any family.

The same blend is written `monet=0.5,ukiyoe=0.3,vangogh=0.2` on the command line and in
image captions (`format_blend`).
"""

import math
import numbers
from collections.abc import Mapping
from pathlib import Path



def is_blend(value) -> bool:
    """Whether `value` is a blend (a mapping of styles to weights) rather than one style."""
    return isinstance(value, Mapping)


def parse_blend(text: str) -> dict:
    """`"monet=0.5,ukiyoe=0.3"` -> {"monet": 0.5, "ukiyoe": 0.3} (weights not yet checked or
    normalized: `check_blend` does that). Refuses entries without `=`, empty names, numbers
    that do not parse and names given twice, with a message naming the entry."""
    blend = {}
    for entry in str(text).split(","):
        name, sep, weight = entry.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"a blend is written STYLE=WEIGHT,STYLE=WEIGHT (e.g. monet=0.5,ukiyoe=0.5); "
                             f"{entry.strip()!r} is not STYLE=WEIGHT")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"the weight of {name!r} in the blend must be a number, got {weight.strip()!r}") from None
        if name in blend:
            raise ValueError(f"{name!r} appears twice in the blend")
        blend[name] = value
    return blend


def check_blend(blend, check_key=None) -> list:
    """The entries of `blend` as [(key, weight)] with weights summing to 1, entries of weight 0
    left out, in the blend's order. `check_key(key)` validates each key (raising for an unknown
    style). Refuses (TypeError/ValueError): a blend that is not a mapping, an empty one, weights
    that are not real numbers, negative, infinite or NaN, and weights that are all zero."""
    if not is_blend(blend):
        raise TypeError(f"a blend must be a mapping of styles to weights, got {type(blend).__name__}")
    if not blend:
        raise ValueError("a blend needs at least one style, e.g. {'monet': 0.5, 'ukiyoe': 0.5}")
    for key, weight in blend.items():
        if check_key is not None:
            check_key(key)
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f"the weight of {key!r} in the blend must be a number, got {type(weight).__name__}")
        if not math.isfinite(weight):
            raise ValueError(f"the weight of {key!r} in the blend must be finite, got {weight}")
        if weight < 0:
            raise ValueError(f"the weight of {key!r} in the blend must not be negative, got {weight}")
    total = math.fsum(float(w) for w in blend.values())
    if total <= 0:
        raise ValueError("the weights of a blend must not all be zero")
    return [(key, float(weight) / total) for key, weight in blend.items() if weight > 0]


def blend_by_lerps(values, weights, lerp):
    """The weighted average of `values` with normalized `weights`, as a chain of
    `lerp(a, b, t)` steps (a model family's own blend: w by lerp, StyleGAN2's noise maps by
    slerp). For values that blend linearly this is exactly sum(weight * value); one value of
    weight 1 comes back unchanged, and two weighted (1 - t, t) give lerp(a, b, t)."""
    result, total = None, 0.0
    for value, weight in zip(values, weights):
        total += weight
        result = value if result is None else lerp(result, value, weight / total)
    return result


def format_blend(entries) -> str:
    """`[("monet", 0.5), ("ukiyoe", 0.5)]` -> "monet=0.5,ukiyoe=0.5"; a reference image is
    named by its file name, or "reference" when it has none (a PIL image or an array)."""
    def name(key):
        return Path(key).name if isinstance(key, (str, Path)) else "reference"
    return ",".join(f"{name(key)}={weight:.3g}" for key, weight in entries)
