"""`build_tiny_export` whose translator actually changes images.

The translator predicts the change to its content and its last layer starts at zero, so a
freshly built (untrained) translator is the identity: every transfer would return the
content and tests of strength, colour preservation, diversity or references could not fail.
This gives that layer seeded random weights, like a translator that has learnt something.
"""

from pathlib import Path

import torch

from ganstyle.translator import StyleTranslator
from tiny_model import STYLES, build_tiny_export  # noqa: F401  (STYLES re-exported for the tests)


def build_styled_tiny_export(folder, **kwargs) -> Path:
    folder = build_tiny_export(folder, **kwargs)
    path = Path(folder) / "translator"
    if path.is_dir():
        translator = StyleTranslator.from_pretrained(path)
        last = translator.network.to_rgb[-1]
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            last.weight.copy_(torch.randn(last.weight.shape, generator=generator) * 0.3)
            last.bias.copy_(torch.randn(last.bias.shape, generator=generator) * 0.1)
        translator.save_pretrained(path)
    return folder
