"""The style translator for style transfer, after StarGAN v2 (Choi et al., 2020).

A content image and a style code go in, the image in that style comes out. The style code
comes either from the mapping network (style label + random latent: diverse outputs per
style) or from the style encoder applied to a reference image of the style.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .family import Translator
from .fast_translator import FastTranslationNetwork
from .layers import AdaINResBlock, DownResBlock, ResBlock, leaky_relu


@dataclass
class TranslatorConfig:
    resolution: int = 64
    num_styles: int = 2
    style_dim: int = 64
    latent_dim: int = 16
    base_channels: int = 16
    max_channels: int = 128
    num_downsamples: int = 3
    bottleneck_blocks: int = 2
    hidden_dim: int = 256

    def __post_init__(self):
        if self.num_styles < 2:
            raise ValueError(f"the translator needs at least 2 styles, got {self.num_styles}")
        if self.resolution % (2**self.num_downsamples) or self.resolution < 16:
            raise ValueError(
                f"resolution {self.resolution} must be >= 16 and divisible by 2**num_downsamples"
            )

    def channels(self, level: int) -> int:
        return min(self.max_channels, self.base_channels * 2**level)


class TranslationNetwork(nn.Module):
    """Encoder-decoder: instance-normalized residual encoder keeps the content; AdaIN
    residual decoder paints it with the style code. Fully convolutional, so it runs on
    any size divisible by 2**num_downsamples.

    The decoder predicts the change to the content image, and its last layer starts with
    small weights: training begins close to the identity and only has to learn the style,
    which is what lets a CPU budget of a few thousand steps keep the photo's content. (Not
    zero: a zero layer blocks the gradient to everything before it.)"""

    def __init__(self, config: TranslatorConfig):
        super().__init__()
        c = config.channels
        n = config.num_downsamples
        self.from_rgb = nn.Conv2d(3, c(0), 3, padding=1)
        self.encode = nn.ModuleList(ResBlock(c(i), c(i + 1), downsample=True) for i in range(n))
        self.encode.extend(ResBlock(c(n), c(n)) for _ in range(config.bottleneck_blocks))
        self.decode = nn.ModuleList(
            AdaINResBlock(c(n), c(n), config.style_dim) for _ in range(config.bottleneck_blocks)
        )
        self.decode.extend(
            AdaINResBlock(c(i + 1), c(i), config.style_dim, upsample=True) for i in reversed(range(n))
        )
        self.to_rgb = nn.Sequential(
            nn.InstanceNorm2d(c(0), affine=True), nn.LeakyReLU(0.2), nn.Conv2d(c(0), 3, 1)
        )
        nn.init.normal_(self.to_rgb[-1].weight, std=0.02)
        nn.init.zeros_(self.to_rgb[-1].bias)

    def forward(self, content, s):
        x = self.from_rgb(content)
        for block in self.encode:
            x = block(x)
        for block in self.decode:
            x = block(x, s)
        return content + self.to_rgb(x)


class StyleMappingNetwork(nn.Module):
    """(latent, style label) -> style code: a shared MLP and one output head per style."""

    def __init__(self, config: TranslatorConfig):
        super().__init__()
        h = config.hidden_dim
        layers = [nn.Linear(config.latent_dim, h), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(h, h), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, config.style_dim))
            for _ in range(config.num_styles)
        )

    def forward(self, z, labels):
        h = self.shared(z)
        out = torch.stack([head(h) for head in self.heads], dim=1)
        return out[torch.arange(len(labels), device=z.device), labels]


class StyleEncoder(nn.Module):
    """(reference image, style label) -> style code: a residual trunk down to 4x4 and one
    linear head per style."""

    def __init__(self, config: TranslatorConfig):
        super().__init__()
        blocks, res, ch = [], config.resolution, config.base_channels
        self.from_rgb = nn.Conv2d(3, ch, 3, padding=1)
        while res > 4:
            out = min(config.hidden_dim, ch * 2)
            blocks.append(DownResBlock(ch, out))
            ch, res = out, res // 2
        self.trunk = nn.Sequential(*blocks)
        self.final = nn.Conv2d(ch, config.hidden_dim, 4)
        self.heads = nn.Linear(config.hidden_dim, config.num_styles * config.style_dim)
        self.config = config

    def features(self, x):
        """The shared features under the per-style heads (B, hidden_dim); what the style
        classifier reads."""
        size = self.config.resolution
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return leaky_relu(self.final(leaky_relu(self.trunk(self.from_rgb(x))))).flatten(1)

    def forward(self, x, labels):
        out = self.heads(self.features(x)).view(len(x), self.config.num_styles, self.config.style_dim)
        return out[torch.arange(len(labels), device=x.device), labels]


class StyleTranslator(Translator):
    """The three generating networks of StarGAN v2, saved and loaded together.

    Example:
        >>> t = StyleTranslator(TranslatorConfig(resolution=32, num_styles=3))
        >>> x = torch.rand(2, 3, 32, 32) * 2 - 1
        >>> s = t.style_from_latent(torch.randn(2, 16), torch.tensor([1, 2]))
        >>> t(x, s).shape
        torch.Size([2, 3, 32, 32])
    """

    config_class = TranslatorConfig

    fast_inference = True
    """Inference calls (eval mode, autograd off, float32 on CPU) run `FastTranslationNetwork`:
    the same function as `network`, equal up to float rounding, in about half the CPU
    time (see fast_translator.py). Set False on an instance to always run `network`."""

    def __init__(self, config: TranslatorConfig):
        super().__init__(config)
        self.network = TranslationNetwork(config)
        self.mapping = StyleMappingNetwork(config)
        self.encoder = StyleEncoder(config)

    def style_from_latent(self, z, labels):
        """Style code of `labels` from random latents z (B, latent_dim): diverse per seed."""
        return self.mapping(z, labels)

    def style_code(self, labels, generator=None):
        """Style codes of `labels` from latents drawn from `generator` (diverse per seed)."""
        z = torch.randn(len(labels), self.config.latent_dim, generator=generator).to(labels.device)
        return self.style_from_latent(z, labels)

    def style_code_from_reference(self, references, labels=None):
        """Style code of reference images (B, 3, H, W in [-1, 1]) read as style `labels`
        (required: the style encoder has one head per style)."""
        if labels is None:
            raise ValueError("StyleTranslator reads a reference as a given style: pass its labels")
        return self.encoder(references, labels)

    def translate(self, content, code):
        """Content of any size: padded to a multiple of the network's stride, and to at least
        two strides (instance norm needs more than one value at the bottleneck), then run
        (the fast form on a CPU in inference) and cropped back."""
        stride = 2**self.config.num_downsamples
        _, _, h, w = content.shape
        pad_h, pad_w = max((-h) % stride, 2 * stride - h), max((-w) % stride, 2 * stride - w)
        x = F.pad(content, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else content
        return self(x.contiguous(memory_format=torch.channels_last), code)[:, :, :h, :w]

    @property
    def reference_feature_dim(self) -> int:
        return self.config.hidden_dim

    def reference_features(self, references):
        """The style encoder's shared features (B, hidden_dim), under its per-style heads."""
        return self.encoder.features(references)

    def forward(self, content, style_code):
        if (self.fast_inference and not self.training and not torch.is_grad_enabled()
                and content.device.type == "cpu" and content.dtype == torch.float32):
            fast = self._fast_network()
            if fast is not None:
                return fast(content, style_code)
        return self.network(content, style_code)

    def _fast_network(self):
        """The fast network for the current weights, rebuilt when any weight has changed
        (new storage or an in-place update, e.g. EMA or load_state_dict). Kept outside the
        module's registry so it never shows up in parameters() or state_dict()."""
        params = list(self.network.parameters())
        if any(p.dtype != torch.float32 or p.device.type != "cpu" for p in params):
            return None
        try:
            key = tuple((p.data_ptr(), p._version) for p in params)
        except RuntimeError:  # inference tensors have no version counter: cannot cache safely
            return None
        cached = self.__dict__.get("_fast_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        with torch.inference_mode(False), torch.no_grad():
            fast = FastTranslationNetwork(self.network).to(memory_format=torch.channels_last)
        self.__dict__["_fast_cache"] = (key, fast)
        return fast
