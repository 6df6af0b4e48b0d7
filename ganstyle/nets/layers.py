"""Building blocks shared by the generator, translator and discriminator.

Names follow the papers: equalized learning rate (ProGAN), modulated convolution with
demodulation (StyleGAN2), AdaIN (StyleGAN / StarGAN v2). Everything is plain PyTorch so it
runs on CPU and CUDA alike; no custom kernels.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU scaled by sqrt(2) to keep activations at unit variance (StyleGAN2 `fused_lrelu`)."""
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate: weights are stored at N(0, 1/lr_mul) and
    scaled at run time, so Adam updates every layer at the same pace."""

    def __init__(self, in_dim, out_dim, bias_init=0.0, lr_mul=1.0, activation=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x):
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return leaky_relu(out) if self.activation else out


class EqualConv2d(nn.Module):
    """Convolution with equalized learning rate ("same" padding)."""

    def __init__(self, in_ch, out_ch, kernel_size, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1 / math.sqrt(in_ch * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 convolution: the style vector scales the kernel's input channels, then
    demodulation renormalizes each output channel to unit variance.

    Computed as StyleGAN2-ADA's non-fused form: scale the activations by the style, run one
    ordinary convolution shared by the whole batch, scale the output by the demodulation
    coefficients. Same result as modulating a per-sample kernel, without materializing
    batch x out x in x k x k weights, which is what makes it fast on CPU."""

    def __init__(self, in_ch, out_ch, kernel_size, w_dim, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.scale = 1 / math.sqrt(in_ch * kernel_size**2)
        self.padding = kernel_size // 2
        self.demodulate = demodulate
        self.upsample = upsample

    def forward(self, x, w):
        style = self.affine(w)
        weight = self.weight * self.scale
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            demod = torch.rsqrt(style.pow(2) @ weight.pow(2).sum(dim=[2, 3]).t() + 1e-8)
            out = out * demod[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned per-layer strength (stochastic detail);
    `noise` None: the layer takes none."""

    def __init__(self):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise):
        return x if noise is None else x + self.strength * noise


class StyledConv(nn.Module):
    """Modulated conv -> noise -> bias -> leaky ReLU: one synthesis layer, one entry of w+."""

    def __init__(self, in_ch, out_ch, w_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, w, noise):
        return leaky_relu(self.noise(self.conv(x, w), noise) + self.bias)


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB, summed with the upsampled skip."""

    def __init__(self, in_ch, w_dim):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, w, skip=None):
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


class DownResBlock(nn.Module):
    """Residual block that halves the resolution (discriminator / style encoder trunk).
    The sum is scaled by 1/sqrt(2) to keep unit variance."""

    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x):
        out = leaky_relu(self.conv1(x))
        out = F.avg_pool2d(leaky_relu(self.conv2(out)), 2)
        skip = self.skip(F.avg_pool2d(x, 2))
        return (out + skip) / SQRT2


class AdaIN(nn.Module):
    """Adaptive instance norm: normalize each channel, then scale and shift by the style code."""

    def __init__(self, channels, style_dim):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.affine = nn.Linear(style_dim, channels * 2)

    def forward(self, x, s):
        gamma, beta = self.affine(s)[:, :, None, None].chunk(2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class ResBlock(nn.Module):
    """Instance-normalized residual block of the translator's encoder; optionally halves the
    resolution. The shortcut is learned when the channel count changes."""

    def __init__(self, in_ch, out_ch, downsample=False):
        super().__init__()
        self.norm1 = nn.InstanceNorm2d(in_ch, affine=True)
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1)
        self.norm2 = nn.InstanceNorm2d(in_ch, affine=True)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, bias=False) if in_ch != out_ch else nn.Identity()
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(F.leaky_relu(self.norm1(x), 0.2))
        if self.downsample:
            out = F.avg_pool2d(out, 2)
            x = F.avg_pool2d(x, 2)
        out = self.conv2(F.leaky_relu(self.norm2(out), 0.2))
        return (out + self.shortcut(x)) / SQRT2


class AdaINResBlock(nn.Module):
    """Residual block of the translator's decoder: AdaIN injects the style code before each
    conv; optionally doubles the resolution."""

    def __init__(self, in_ch, out_ch, style_dim, upsample=False):
        super().__init__()
        self.norm1 = AdaIN(in_ch, style_dim)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = AdaIN(out_ch, style_dim)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, bias=False) if in_ch != out_ch else nn.Identity()
        self.upsample = upsample

    def forward(self, x, s):
        out = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            out = F.interpolate(out, scale_factor=2, mode="nearest")
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        out = self.conv1(out)
        out = self.conv2(F.leaky_relu(self.norm2(out, s), 0.2))
        return (out + self.shortcut(x)) / SQRT2
