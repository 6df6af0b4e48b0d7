"""The painter: a feed-forward style-transfer network conditioned on a style vector, after
Magenta's arbitrary image stylization (Ghiasi et al. 2017, itself after Johnson et al. 2016
and Dumoulin et al.'s conditional instance norm), distilled from Magenta and sharpened by
an adversarial loss on real paintings (training/painter_task.py).

Unlike the StarGAN v2 translator, which predicts a change to the content, the painter
produces the whole painting: the photo goes through a bottleneck at 1/8 of its size, so
its fine detail and exact colours do not leak through (what made transfer look like a tinted
photo); the decoder repaints them in the style, at the output's full resolution. Reflection
padding everywhere (no frame lines or corner marks) and resize-then-convolve upsampling (no
checkerboards).

A style code is (B, style_dim + 1): a 100-number vector in Magenta's style space and an
amount in [0, 1]. Each painter style stores the vectors of its training paintings
(`style_table`); a seed picks one of them and moves the style's code by its deviation from
the style's mean, so seeds give different paintings of one style. A style without paintings (the photos) is the identity:
amount 0, so blending "photo" into a style lowers its strength. A reference image's vector
is read by a small style encoder trained to predict Magenta's vectors, so inference needs
nothing but this module.
"""

from dataclasses import dataclass, field
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from .family import Translator
from .fast_translator import phase_kernels

STRIDE = 8  # three stride-2 stages: sides are padded to a multiple of 8


@dataclass
class PainterConfig:
    resolution: int = 256
    num_styles: int = 2
    style_dim: int = 100
    channels: List[int] = field(default_factory=lambda: [32, 64, 96])
    residual_blocks: int = 4
    full_channels: int = 16
    encoder_channels: List[int] = field(default_factory=lambda: [16, 32, 64, 128, 128])
    table_size: int = 0
    style_contrast: float = 1.0
    """How far a style's code sits from the mean of all paintings, in units of its own mean's
    distance: 1 is the style's mean painting; above 1 the painters differ more (their means are
    close in Magenta's space, so at 1 they look alike). Inference only; training uses vectors."""
    seed_spread: float = 1.0
    """How far a seed's code sits from the style's center toward one of the style's paintings,
    in units of that painting's distance from the style's mean: 1 is the painting's own
    deviation; more gives seeds more different paintings. Inference only."""

    def __post_init__(self):
        if self.num_styles < 2:
            raise ValueError(f"the painter needs at least 2 styles, got {self.num_styles}")
        if len(self.channels) != 3:
            raise ValueError(f"channels lists the widths at 1/2, 1/4 and 1/8 of the image, got {self.channels}")
        if self.resolution % STRIDE or self.resolution < 2 * STRIDE:
            raise ValueError(f"resolution {self.resolution} must be >= {2 * STRIDE} and divisible by {STRIDE}")


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are linear in the style vector (zero-initialized
    offsets around scale 1, shift 0)."""

    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.affine = nn.Linear(style_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x, style):
        scale, shift = self.affine(style).chunk(2, dim=1)
        if len(x) == 1 and not torch.is_grad_enabled():
            # One image: instance norm is batch norm with batch statistics, and the CPU kernel of
            # batch norm applies the scale and shift in the same pass (about 3x faster here).
            return F.batch_norm(x, None, None, 1 + scale[0], shift[0], True, 0.0, 1e-5)
        return F.instance_norm(x) * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class ConvNormAct(nn.Module):
    """Reflection-padded convolution (optionally strided), conditional instance norm, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, kernel_size: int = 3, stride: int = 1,
                 act: bool = True):
        super().__init__()
        self.pad = kernel_size // 2
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride)
        self.norm = ConditionalInstanceNorm(out_ch, style_dim)
        self.act = act

    def forward(self, x, style):
        x = self.norm(self.conv(F.pad(x, (self.pad,) * 4, mode="reflect")), style)
        return F.relu(x) if self.act else x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.first = ConvNormAct(channels, channels, style_dim)
        self.second = ConvNormAct(channels, channels, style_dim, act=False)

    def forward(self, x, style):
        return x + self.second(self.first(x, style), style)


class Upsample(nn.Module):
    """Nearest 2x upsampling, then a conditional conv block (no transposed convolution).

    In inference the upsampling and the convolution run as four 2x2 "phase" convolutions at
    the low resolution (sub-pixel convolution: 2.25x fewer multiply-adds, no upsampled copy),
    the same function: reflection padding of a nearest-upsampled image is replication padding
    of the image before it."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int):
        super().__init__()
        self.block = ConvNormAct(in_ch, out_ch, style_dim)

    def forward(self, x, style):
        if torch.is_grad_enabled():
            return self.block(F.interpolate(x, scale_factor=2, mode="nearest"), style)
        conv = self.block.conv
        weight = phase_kernels(conv.weight).to(conv.weight.dtype)
        y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, conv.bias.repeat(4))
        b, _, h, w = x.shape
        c = conv.out_channels
        out = torch.empty(b, c, 2 * h, 2 * w, dtype=y.dtype, device=y.device, memory_format=_memory_format(y))
        grid = out.view(b, c, h, 2, w, 2)
        for phase in range(4):
            py, px = divmod(phase, 2)
            grid[:, :, :, py, :, px] = y[:, phase * c:(phase + 1) * c, py:py + h, px:px + w]
        out = self.block.norm(out, style)
        return F.relu_(out) if self.block.act else out


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """The layout of a 4-d tensor, for allocating an output in the same one."""
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def reflect_pad_1(x: torch.Tensor) -> torch.Tensor:
    """`F.pad(x, (1, 1, 1, 1), mode="reflect")` by copies, the same values in x's layout: on
    the CPU, torch's reflection-pad kernel takes 7 ms on a channels-last 16 x 512 x 512 map,
    these copies 1.3 ms."""
    b, c, h, w = x.shape
    out = torch.empty(b, c, h + 2, w + 2, dtype=x.dtype, device=x.device, memory_format=_memory_format(x))
    out[:, :, 1:-1, 1:-1] = x
    out[:, :, 0, 1:-1] = x[:, :, 1]
    out[:, :, -1, 1:-1] = x[:, :, -2]
    out[:, :, :, 0] = out[:, :, :, 2]
    out[:, :, :, -1] = out[:, :, :, -3]
    return out


class PaintingNetwork(nn.Module):
    """Photo in [-1, 1] (sides divisible by 8) + style vector -> painting in [-1, 1]."""

    def __init__(self, config: PainterConfig):
        super().__init__()
        c1, c2, c3, s = *config.channels, config.style_dim
        self.down = nn.ModuleList([ConvNormAct(3, c1, s, 5, 2), ConvNormAct(c1, c2, s, 3, 2),
                                   ConvNormAct(c2, c3, s, 3, 2)])
        self.blocks = nn.ModuleList(ResidualBlock(c3, s) for _ in range(config.residual_blocks))
        self.up = nn.ModuleList([Upsample(c3, c2, s), Upsample(c2, c1, s), Upsample(c1, config.full_channels, s)])
        self.to_rgb = nn.Conv2d(config.full_channels, 3, 3)

    def forward(self, x, style):
        x = self.down[0](x, style)
        if not torch.is_grad_enabled():
            # Inference runs channels-last after the first layer: the CPU kernels of the thin
            # full-resolution layers (phase and output convolutions, batch norm) are 2-6x
            # faster in that layout; the 3-channel input layer is faster as it comes.
            x = x.contiguous(memory_format=torch.channels_last)
        for layer in [*self.down[1:], *self.blocks, *self.up]:
            x = layer(x, style)
        return torch.tanh(self.to_rgb(reflect_pad_1(x))).contiguous()


class VectorEncoder(nn.Module):
    """A painting -> its style vector (trained to predict Magenta's); its pooled features
    (mean and standard deviation of the last maps) are what the style classifier reads."""

    def __init__(self, config: PainterConfig):
        super().__init__()
        layers, ch = [], 3
        for out in config.encoder_channels:
            layers += [nn.Conv2d(ch, out, 3, 2, 1), nn.LeakyReLU(0.2)]
            ch = out
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(2 * ch, config.style_dim)
        self.feature_dim = 2 * ch

    def features(self, x):
        maps = self.trunk(x)
        return torch.cat([maps.mean((2, 3)), maps.std((2, 3), unbiased=False)], dim=1)

    def forward(self, x):
        return self.head(self.features(x))


class Painter(Translator):
    """The painting network, the style encoder and each style's table of painting vectors.

    Example:
        >>> p = Painter(PainterConfig(resolution=32, num_styles=2, channels=[8, 8, 8], residual_blocks=1,
        ...                           full_channels=4, encoder_channels=[8], table_size=2))
        >>> p.set_style_table(torch.randn(2, 100), torch.tensor([1, 1]))
        >>> code = p.style_code(torch.tensor([1]), torch.Generator().manual_seed(0))
        >>> p.translate(torch.rand(1, 3, 30, 42) * 2 - 1, code).shape
        torch.Size([1, 3, 30, 42])
    """

    config_class = PainterConfig
    reference_needs_style = False
    work_scale = 1.5
    """It learned its brushwork from the teacher's pairs painted at 1.5x the training
    resolution (256 px photos enlarged to 384): a larger picture is painted at that side and
    the painting enlarged, as Magenta paints at its fixed 384 px. Painted at the picture's own
    size instead, its strokes shrink with the picture and the photo shows through: measured
    with `ganstyle evaluate --paint-side`, see the model card's "The size a photo is painted
    at"."""
    keeps_photo_detail = False

    def __init__(self, config: PainterConfig):
        super().__init__(config)
        self.network = PaintingNetwork(config)
        self.encoder = VectorEncoder(config)
        self.register_buffer("style_table", torch.zeros(config.table_size, config.style_dim))
        self.register_buffer("style_table_labels", torch.zeros(config.table_size, dtype=torch.long))

    def set_style_table(self, vectors: torch.Tensor, labels: torch.Tensor) -> None:
        """Store the painting vectors (table_size, style_dim) and their style labels."""
        self.style_table.copy_(vectors)
        self.style_table_labels.copy_(labels)

    def _rows(self, label: int) -> torch.Tensor:
        return self.style_table[self.style_table_labels == label]

    def style_mean(self, label: int) -> torch.Tensor:
        """Mean vector of a style's paintings (of all paintings for a style without any)."""
        rows = self._rows(label)
        return (rows if len(rows) else self.style_table).mean(0)

    def style_center(self, label: int) -> torch.Tensor:
        """The style's code vector at seed-free inference: its mean, moved away from the mean of
        all paintings by `style_contrast`."""
        overall = self.style_table.mean(0)
        return overall + self.config.style_contrast * (self.style_mean(label) - overall)

    def style_vector(self, labels: torch.Tensor, t: torch.Tensor, picks: torch.Tensor) -> torch.Tensor:
        """center + t * (painting - mean) per label, the painting being the `picks`-th row of
        the style's table (taken modulo its size)."""
        out = []
        for label, ti, pick in zip(labels.tolist(), t, picks.tolist()):
            rows, center = self._rows(label), self.style_center(label)
            out.append(center if not len(rows) else center + ti * (rows[pick % len(rows)] - self.style_mean(label)))
        return torch.stack(out)

    def style_code(self, labels, generator=None):
        """Codes of style labels: without a generator, each style's center (`style_center`); with
        one, the center plus `seed_spread` times a random painting's deviation from the style's
        mean (each seed, another painting of the style)."""
        n = len(labels)
        if generator is None:
            t, picks = torch.zeros(n), torch.zeros(n, dtype=torch.long)
        else:
            t = torch.full((n,), float(self.config.seed_spread))
            picks = torch.randint(2**31 - 1, (n,), generator=generator)
        t = t.to(self.style_table.device)
        vectors = self.style_vector(labels, t, picks)
        amount = torch.tensor([float(len(self._rows(label)) > 0) for label in labels.tolist()],
                              device=vectors.device)
        return torch.cat([vectors, amount[:, None]], dim=1)

    def style_code_from_reference(self, references, labels=None):
        """Codes of reference images (B, 3, H, W in [-1, 1]): the encoder's vector, full amount."""
        vectors = self.encoder(references)
        return torch.cat([vectors, torch.ones(len(vectors), 1, device=vectors.device)], dim=1)

    def blend_style_codes(self, codes, weights):
        """Weighted average of codes in which each vector counts by its amount: the identity
        ("photo", amount 0) does not move the painting's vector, it only lowers the amount,
        so half "photo" and half "monet" is Monet at half strength."""
        amount = super().blend_style_codes([c[:, -1:] for c in codes], weights)
        weighted = [c[:, :-1] * c[:, -1:] for c in codes]
        vector = super().blend_style_codes(weighted, weights) / amount.clamp_min(1e-8)
        if not (amount > 0).all():  # photo alone: keep a vector of the same scale
            vector = torch.where(amount > 0, vector, super().blend_style_codes([c[:, :-1] for c in codes], weights))
        return torch.cat([vector, amount], dim=1)

    def translate(self, content, code):
        """`content` of any size (reflection-padded to a multiple of 8, at least 16) painted with
        `code`; the amount blends from the content (0) to the painting (1)."""
        _, _, h, w = content.shape
        pad_h, pad_w = max((-h) % STRIDE, 2 * STRIDE - h), max((-w) % STRIDE, 2 * STRIDE - w)
        x = content
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(content, (0, pad_w, 0, pad_h), mode=mode)
        vectors, amount = code[:, :-1], code[:, -1:, None, None]
        painted = self.network(x, vectors)[:, :, :h, :w]
        return content + amount * (painted - content)

    @property
    def reference_feature_dim(self) -> int:
        return self.encoder.feature_dim

    def reference_features(self, references):
        return self.encoder.features(references)

    def forward(self, content, style_code):
        return self.translate(content, style_code)
