"""Tiny models for offline tests: a random-weight ganstyle export, and a second translator
family (`PaletteTranslator`) that shows what a model family has to implement."""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganstyle.storage.model_folder import save_export
from ganstyle.nets.generator import GeneratorConfig, StyleGenerator
from ganstyle.nets.style_classifier import fit_style_classifier
from ganstyle.nets.family import Translator, register
from ganstyle.nets.translator import StyleTranslator, TranslatorConfig

STYLES = ("circle", "square", "triangle")


def tiny_generator(num_styles: int, resolution: int = 32) -> StyleGenerator:
    """A small random-weight generator (from the current torch seed) whose w_avg and noise
    strengths are set the way training leaves them."""
    g = StyleGenerator(GeneratorConfig(resolution=resolution, num_styles=num_styles, latent_dim=16, w_dim=32,
                                       mapping_layers=2, channel_base=256, max_channels=32))
    with torch.no_grad():
        labels = torch.arange(num_styles).repeat_interleave(64)
        w = g.mapping(torch.randn(len(labels), 16), labels)
        for i in range(num_styles):
            g.w_avg[i] = w[labels == i].mean(0)
        # Noise strengths start at zero; a trained generator's are not (and may carry
        # layout), so give them weight and let the tests see which noise maps are used.
        for name, param in g.named_parameters():
            if name.endswith("noise.strength"):
                param.fill_(0.05)
    return g


def build_tiny_export(folder, styles=STYLES, resolution: int = 32, components=("generator", "translator")) -> Path:
    """Write a small but complete export folder (random weights, seeded) and return its path."""
    torch.manual_seed(0)
    modules = {}
    if "generator" in components:
        modules["generator"] = tiny_generator(len(styles), resolution)
    if "translator" in components:
        translator = StyleTranslator(TranslatorConfig(
            resolution=resolution, num_styles=len(styles), style_dim=16, latent_dim=8, base_channels=8,
            max_channels=32, hidden_dim=32))
        # A fresh translator is the identity (its last layer starts at zero); give that layer
        # weights, like a trained one, so transfer tests see images actually change.
        last = translator.network.to_rgb[-1]
        with torch.no_grad():
            last.weight.normal_(0, 0.3)
            last.bias.normal_(0, 0.1)
        modules["translator"] = translator
        # Fitted on solid colours, one per style: detect_style reads a reddish image as style 0.
        colours = torch.tensor([[220, 40, 40], [40, 200, 60], [50, 60, 220], [200, 200, 40], [160, 40, 200]])
        labels = torch.arange(len(styles)).repeat_interleave(16)
        noise = torch.randint(-30, 31, (len(labels), 3, resolution, resolution))
        images = (colours[labels % len(colours)][:, :, None, None] + noise).clamp(0, 255).to(torch.uint8)
        modules["style_classifier"] = fit_style_classifier(translator, images, labels)
    folder = Path(folder)
    save_export(folder, list(styles), resolution, modules, extra={"training": {"steps": 0, "data": "synthetic"}})
    return folder


@dataclass
class PaletteConfig:
    resolution: int = 32
    num_styles: int = 3


@register
class PaletteTranslator(Translator):
    """A second translator family, as small as one can be: a style code is an RGB colour
    (B, 3) in [-1, 1], and translation moves every pixel halfway toward it. Each style has a
    learned colour (a seed adds a little jitter); a reference's code is its mean colour, so
    reading a reference needs no style label and no style classifier."""

    config_class = PaletteConfig
    reference_needs_style = False
    JITTER = 0.1

    def __init__(self, config: PaletteConfig):
        super().__init__(config)
        self.palette = nn.Parameter(torch.zeros(config.num_styles, 3))

    def style_code(self, labels, generator=None):
        jitter = torch.rand(len(labels), 3, generator=generator).to(labels.device) * 2 - 1
        return self.palette[labels] + self.JITTER * jitter

    def style_code_from_reference(self, references, labels=None):
        return references.mean(dim=(2, 3))

    def translate(self, content, code):
        return torch.lerp(content, code[:, :, None, None].expand_as(content), 0.5)


def build_palette_export(folder, styles=STYLES, resolution: int = 32) -> Path:
    """An export folder with the tiny generator and a PaletteTranslator (red, green, blue)."""
    translator = PaletteTranslator(PaletteConfig(resolution=resolution, num_styles=len(styles)))
    with torch.no_grad():
        translator.palette.copy_(torch.eye(3)[: len(styles)] * 2 - 1)
    folder = Path(folder)
    save_export(folder, list(styles), resolution, {"generator": tiny_generator(len(styles), resolution),
                                                   "translator": translator})
    return folder
