"""The style generator for random generation: noise z + style label -> image.

A StyleGAN2-style network scaled for CPU: a conditional mapping network turns (z, style)
into an intermediate latent w; the synthesis network takes one w per layer ("w+"), so
truncation toward a per-style mean w, style mixing (coarse layers from one w, fine from
another) and interpolation in w all come for free at inference.
"""

import math
from dataclasses import dataclass, field
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from .family import Generator
from .inversion import DEFAULT_STEPS, LatentEncoder, project
from .layers import EqualLinear, StyledConv, ToRGB


@dataclass
class GeneratorConfig:
    """latent_dim: the random input z; w_dim: the intermediate latent w; a layer at `res` px
    has min(max_channels, channel_base // res) channels (StyleGAN2's rule)."""

    renamed = {"z_dim": "latent_dim", "channel_max": "max_channels"}
    """Keys of format-version-1 config.json files, read under their new names."""

    resolution: int = 64
    num_styles: int = 2
    latent_dim: int = 128
    w_dim: int = 256
    mapping_layers: int = 4
    channel_base: int = 2048
    max_channels: int = 256
    encoder_channels: List[int] = field(default_factory=list)
    """Widths of the inversion encoder's stride-2 stages, one per halving from `resolution`
    down to 4 px (e.g. [32, 64, 128, 256] at 64 px); empty: no encoder (inversion starts from
    the style's latents alone)."""
    noise_min_resolution: int = 4
    """Layers below this resolution take no noise. A generator with noise at its coarse
    layers may draw its layout from the noise instead of from w (the 64 and 128 px
    generators draw theirs from the 16 px maps); with noise only at the fine layers, w has to
    carry the layout and the noise is left the stochastic detail."""

    def __post_init__(self):
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ValueError(f"resolution must be a power of two >= 8, got {self.resolution}")
        if self.num_styles < 1:
            raise ValueError(f"num_styles must be >= 1, got {self.num_styles}")
        if self.noise_min_resolution not in [2**i for i in range(2, int(math.log2(self.resolution)) + 2)]:
            raise ValueError(f"noise_min_resolution must be a power of two from 4 to {self.resolution} (or "
                             f"{2 * self.resolution}: no noise), got {self.noise_min_resolution}")
        stages = int(math.log2(self.resolution)) - 2
        if self.encoder_channels and len(self.encoder_channels) != stages:
            raise ValueError(f"encoder_channels needs one width per halving from {self.resolution} to 4 px "
                             f"({stages}), got {self.encoder_channels}")

    def channels(self, res: int) -> int:
        return min(self.max_channels, self.channel_base // res)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Pixel norm: scale each vector to unit root-mean-square."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """(z, style label) -> w. The label is embedded and concatenated with z as in
    StyleGAN2-ADA's conditional mapping; the MLP runs at a 100x lower learning rate."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.embed = EqualLinear(config.num_styles, config.w_dim)
        dims = [config.latent_dim + config.w_dim] + [config.w_dim] * config.mapping_layers
        self.layers = nn.Sequential(
            *[EqualLinear(i, o, lr_mul=0.01, activation=True) for i, o in zip(dims[:-1], dims[1:])]
        )
        self.num_styles = config.num_styles

    def forward(self, z, labels):
        onehot = F.one_hot(labels, self.num_styles).to(z.dtype)
        return self.layers(torch.cat([normalize(z), normalize(self.embed(onehot))], dim=1))


class StyleGenerator(Generator):
    """Conditional StyleGAN2 generator.

    Example:
        >>> g = StyleGenerator(GeneratorConfig(resolution=32, num_styles=3))
        >>> z = torch.randn(2, g.config.latent_dim)
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
        self.encoder = (LatentEncoder(config.encoder_channels, self.num_ws, config.w_dim)
                        if config.encoder_channels else None)

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

    def encode(self, images, labels):
        """The inversion encoder's w+ latents (B, num_ws, w_dim) of images (B, 3, R, R) of
        the given styles: each style's mean w plus the encoder's offset. Needs an encoder."""
        if self.encoder is None:
            raise ValueError("this generator has no inversion encoder (config encoder_channels is empty)")
        return self.w_avg[labels].unsqueeze(1) + self.encoder(images)

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
        noise = [n if size >= self.config.noise_min_resolution else None for n, size in zip(noise, self.noise_sizes)]

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

    # ------------------------------------------------------------ the Generator interface
    def latent(self, labels, generator, truncation: float = 1.0):
        """(w (B, w_dim), noise maps) drawn from `generator`: z first, then the maps (so w is
        the same as with z alone). Truncation pulls w toward the style's mean w and the maps
        toward the stored ones."""
        device = labels.device
        z = torch.randn(len(labels), self.config.latent_dim, generator=generator).to(device)
        noise = blend_noise(self.const_noise(), self.make_noise(len(labels), generator=generator, device=device),
                            truncation)
        return self.truncate(self.mapping(z, labels), labels, truncation), noise

    def average_latent(self, labels):
        """Each style's mean w with the stored noise maps."""
        return self.w_avg[labels], self.const_noise()

    def synthesize(self, latent):
        """Images of a latent (w (B, w_dim) or w+ (B, num_ws, w_dim), noise maps)."""
        w, noise = latent
        return self.synthesis(w if w.ndim == 3 else self.broadcast(w), noise=noise)

    def blend_latents(self, a, b, t: float):
        """w by linear interpolation, the noise maps by spherical interpolation."""
        return torch.lerp(a[0], b[0], t), blend_noise(a[1], b[1], t)

    @property
    def mix_layers(self) -> int:
        return self.num_ws

    def mix_latents(self, coarse, fine, crossover: int):
        """w+ entries and noise maps before `crossover` from `coarse`, the rest from `fine`
        (noise map k enters the layer that takes w+ entry k)."""
        ws = torch.cat([self._plus(coarse[0])[:, :crossover], self._plus(fine[0])[:, crossover:]], dim=1)
        return ws, coarse[1][:crossover] + fine[1][crossover:]

    def _plus(self, w):
        return w if w.ndim == 3 else self.broadcast(w)

    inversion_steps = DEFAULT_STEPS

    def invert(self, target, labels, steps: int = DEFAULT_STEPS, callback=None):
        """(w+ (B, num_ws, w_dim), noise maps) of `target` images, by the projector of
        nets/inversion.py (early stopping; `callback(step, steps, distance)` after each step)."""
        w, noise, _ = project(self, target, labels, steps=steps, callback=callback)
        return w, noise


def blend_noise(a: list, b: list, t: float) -> list:
    """Noise maps a fraction t of the way from `a` to `b` by spherical interpolation, so they
    keep the spread of Gaussian noise all the way (a straight blend of two independent maps
    fades toward zero halfway); identical maps stay as they are."""
    return [_slerp(x, y, t) for x, y in zip(a, b)]


def _slerp(x: torch.Tensor, y: torch.Tensor, t: float) -> torch.Tensor:
    if t in (0, 1):  # the ends exactly, so the first and last frames are the ends' own images
        return x if t == 0 else y
    cos = (x.flatten() @ y.flatten()) / (x.norm() * y.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega < 1e-4:
        return torch.lerp(x, y, t)
    return (torch.sin((1 - t) * omega) * x + torch.sin(t * omega) * y) / torch.sin(omega)
