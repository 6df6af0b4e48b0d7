"""The style generator for random generation: noise z + style label -> image.

A StyleGAN2-style network scaled for CPU: a conditional mapping network turns (z, style)
into an intermediate latent w; the synthesis network takes one w per layer ("w+"), so
truncation toward a per-style mean w, style mixing (coarse layers from one w, fine from
another) and interpolation in w all come for free at inference.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import EqualLinear, StyledConv, ToRGB
from .pretrained import PretrainedModule


@dataclass
class GeneratorConfig:
    resolution: int = 64
    num_styles: int = 2
    z_dim: int = 128
    w_dim: int = 256
    mapping_layers: int = 4
    channel_base: int = 2048
    channel_max: int = 256

    def __post_init__(self):
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ValueError(f"resolution must be a power of two >= 8, got {self.resolution}")
        if self.num_styles < 1:
            raise ValueError(f"num_styles must be >= 1, got {self.num_styles}")

    def channels(self, res: int) -> int:
        return min(self.channel_max, self.channel_base // res)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Pixel norm: scale each vector to unit root-mean-square."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """(z, style label) -> w. The label is embedded and concatenated with z as in
    StyleGAN2-ADA's conditional mapping; the MLP runs at a 100x lower learning rate."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.embed = EqualLinear(config.num_styles, config.w_dim)
        dims = [config.z_dim + config.w_dim] + [config.w_dim] * config.mapping_layers
        self.layers = nn.Sequential(
            *[EqualLinear(i, o, lr_mul=0.01, activation=True) for i, o in zip(dims[:-1], dims[1:])]
        )
        self.num_styles = config.num_styles

    def forward(self, z, labels):
        onehot = F.one_hot(labels, self.num_styles).to(z.dtype)
        return self.layers(torch.cat([normalize(z), normalize(self.embed(onehot))], dim=1))


class StyleGenerator(PretrainedModule):
    """Conditional StyleGAN2 generator.

    Example:
        >>> g = StyleGenerator(GeneratorConfig(resolution=32, num_styles=3))
        >>> z = torch.randn(2, g.config.z_dim)
        >>> g(z, torch.tensor([0, 2]), truncation=0.7).shape
        torch.Size([2, 3, 32, 32])
    """

    config_class = GeneratorConfig

    def __init__(self, config: GeneratorConfig):
        super().__init__(config)
        self.mapping = MappingNetwork(config)
        log_res = int(math.log2(config.resolution))
        self.num_ws = log_res * 2 - 2
        c4 = config.channels(4)
        self.const = nn.Parameter(torch.randn(1, c4, 4, 4))
        self.conv1 = StyledConv(c4, c4, config.w_dim)
        self.to_rgb1 = ToRGB(c4, config.w_dim)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_ch = c4
        for level in range(3, log_res + 1):
            out_ch = config.channels(2**level)
            self.convs.append(StyledConv(in_ch, out_ch, config.w_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, config.w_dim))
            self.to_rgbs.append(ToRGB(out_ch, config.w_dim))
            in_ch = out_ch
        # Fixed noise maps (noise_mode="const"): a deterministic render without a seed, the
        # centre that truncation pulls noise toward and where GAN inversion starts.
        noise_gen = torch.Generator().manual_seed(0)
        self.noise_sizes = [4] + [2 ** (3 + i // 2) for i in range(len(self.convs))]
        for i, size in enumerate(self.noise_sizes):
            self.register_buffer(f"noise_const_{i}", torch.randn(1, 1, size, size, generator=noise_gen))
        # Running mean of w per style: the centre that truncation pulls toward.
        self.register_buffer("w_avg", torch.zeros(config.num_styles, config.w_dim))

    def truncate(self, w, labels, truncation: float):
        """Pull w toward its style's mean w: 1.0 leaves it, 0.0 gives the style's average image."""
        if truncation == 1.0:
            return w
        center = self.w_avg[labels]
        return center + truncation * (w - center)

    @torch.no_grad()
    def update_w_avg(self, w, labels, beta: float = 0.995) -> None:
        """Track the mean w of each style seen in training (exponential moving average)."""
        for label in labels.unique():
            mean = w[labels == label].float().mean(dim=0)
            self.w_avg[label].lerp_(mean, 1 - beta)

    def broadcast(self, w):
        """One w per synthesis layer: (B, w_dim) -> (B, num_ws, w_dim)."""
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def make_noise(self, batch: int = 1, generator=None, device=None, dtype=None) -> list:
        """One set of per-layer noise maps [(batch, 1, size, size), ...], drawn from `generator`.

        A trained generator may take part of its layout from these maps, not only from w:
        the discriminator only ever saw images with fresh noise, so a fixed set of maps for
        every image can draw every image with the same layout. Inference therefore draws
        the maps from each image's seed, like z."""
        source = generator.device if generator is not None else device
        return [torch.randn(batch, 1, size, size, generator=generator, device=source, dtype=dtype).to(device)
                for size in self.noise_sizes]

    def const_noise(self) -> list:
        """The stored noise maps (noise_mode="const"), in the form `make_noise` returns."""
        return [getattr(self, f"noise_const_{i}") for i in range(len(self.noise_sizes))]

    def synthesis(self, ws, noise_mode: str = "const", noise=None):
        """Render w+ latents (B, num_ws, w_dim) into images in about [-1, 1].
        `noise` (maps from `make_noise`) is used when given; otherwise noise_mode "const" uses
        the stored noise maps, "random" fresh noise (training)."""
        if noise_mode not in ("const", "random"):
            raise ValueError(f"noise_mode must be 'const' or 'random', got {noise_mode!r}")
        batch = ws.shape[0]
        if noise is None:
            noise = (self.const_noise() if noise_mode == "const"
                     else self.make_noise(batch, device=ws.device, dtype=ws.dtype))
        elif len(noise) != len(self.noise_sizes):
            raise ValueError(f"noise must hold {len(self.noise_sizes)} maps (make_noise), got {len(noise)}")

        x = self.conv1(self.const.expand(batch, -1, -1, -1), ws[:, 0], noise[0])
        rgb = self.to_rgb1(x, ws[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 2 * j
            x = self.convs[i](x, ws[:, i + 1], noise[i + 1])
            x = self.convs[i + 1](x, ws[:, i + 2], noise[i + 2])
            rgb = to_rgb(x, ws[:, i + 3], rgb)
        return rgb

    def forward(self, z, labels, truncation: float = 1.0, noise_mode: str = "const", noise=None):
        w = self.truncate(self.mapping(z, labels), labels, truncation)
        return self.synthesis(self.broadcast(w), noise_mode=noise_mode, noise=noise)
