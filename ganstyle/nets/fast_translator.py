"""An inference-only rewrite of the translator's `TranslationNetwork` that computes the same
function (equal up to float rounding, ~1e-5) with fewer operations, for CPU speed.

Same weights, same outputs; only the arithmetic is rearranged:

* conv 3x3 followed by 2x2 average pooling (encoder downsampling) is one 4x4 convolution
  with stride 2, whose kernel is the 3x3 kernel convolved with the 2x2 box: 2.25x fewer
  multiply-adds and no full-resolution intermediate.
* nearest 2x upsampling followed by conv 3x3 (decoder upsampling) is four 2x2 "phase"
  convolutions at the low resolution, one per output pixel parity (sub-pixel convolution):
  2.25x fewer multiply-adds and no upsampled input. The 1x1 shortcut runs at the low
  resolution and is added to the upsampled output through a broadcast view.
* instance norm (+ its affine, or AdaIN's style scale and shift) is one per-channel
  scale and shift computed from the statistics, applied by the fused batch-norm kernel,
  then leaky ReLU in place.
* the residual blocks' 1/sqrt(2) is folded into the weights of their last convolution
  and shortcut.

Build it with `FastTranslationNetwork(network)`; it holds copies of the derived weights,
so rebuild it if the original network's weights change. `StyleTranslator` does both for its
inference calls on a CPU (see its `fast_inference`); `StyleTranslator.network` itself is
unchanged (training uses it).
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import AdaINResBlock, ResBlock

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_EPS = 1e-5  # nn.InstanceNorm2d's default, used by every norm of the translator


def _norm_act(x, weight=None, bias=None, eps=_EPS, slope=0.2):
    """leaky_relu(instance_norm(x) * weight + bias), weight/bias (B, C) or (C,) or None.

    For one image, instance norm is batch norm with batch statistics, whose CPU kernel
    computes the statistics and the scale-and-shift in two vectorized passes (several
    times faster than `instance_norm`, which reshapes and, in channels_last, copies)."""
    parts = []
    for i in range(x.shape[0]):
        w = weight[i] if weight is not None and weight.dim() == 2 else weight
        b = bias[i] if bias is not None and bias.dim() == 2 else bias
        parts.append(F.batch_norm(x[i:i + 1], None, None, w, b, True, 0.0, eps))
    out = parts[0] if len(parts) == 1 else torch.cat(parts)
    return F.leaky_relu_(out, slope)


def _add_upsampled_(out, low):
    """out += nearest_upsample_2x(low), without materializing the upsampled tensor."""
    b, c, h, w = low.shape
    if out.is_contiguous():
        out.view(b, c, h, 2, w, 2).add_(low[:, :, :, None, :, None])
    elif out.is_contiguous(memory_format=torch.channels_last):
        out.permute(0, 2, 3, 1).view(b, h, 2, w, 2, c).add_(low.permute(0, 2, 3, 1)[:, :, None, :, None, :])
    else:
        out.add_(F.interpolate(low, scale_factor=2, mode="nearest"))
    return out


def _down_kernel(weight):
    """3x3 kernel of a conv followed by 2x2 average pooling -> 4x4 kernel of a stride-2 conv."""
    out_ch, in_ch, k, _ = weight.shape
    box = torch.full((1, 1, 2, 2), 0.25, dtype=torch.float64)
    w = weight.double().reshape(out_ch * in_ch, 1, k, k)
    return F.conv2d(F.pad(w, (1, 1, 1, 1)), box.flip(-1, -2)).reshape(out_ch, in_ch, k + 1, k + 1)


def phase_kernels(weight):
    """3x3 kernel applied after nearest 2x upsampling -> four 2x2 kernels at the low
    resolution, stacked on the output axis in phase order (0,0), (0,1), (1,0), (1,1)."""
    w = weight.double()
    rows = (torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], dim=2),   # even output rows
            torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], dim=2))   # odd output rows
    phases = []
    for r in rows:
        for px in (0, 1):
            if px == 0:
                cols = torch.stack([r[..., 0], r[..., 1] + r[..., 2]], dim=-1)
            else:
                cols = torch.stack([r[..., 0] + r[..., 1], r[..., 2]], dim=-1)
            phases.append(cols)
    return torch.cat(phases, dim=0)  # (4 * out, in, 2, 2)


def _param(t, scale=1.0):
    return nn.Parameter((t.detach().double() * scale).float(), requires_grad=False)


class _FastResBlock(nn.Module):
    def __init__(self, block: ResBlock):
        super().__init__()
        self.down = block.downsample
        self.n1w, self.n1b = _param(block.norm1.weight), _param(block.norm1.bias)
        self.n2w, self.n2b = _param(block.norm2.weight), _param(block.norm2.bias)
        if self.down:
            self.w1 = _param(_down_kernel(block.conv1.weight))
        else:
            self.w1 = _param(block.conv1.weight)
        self.b1 = _param(block.conv1.bias)
        self.w2, self.b2 = _param(block.conv2.weight, _INV_SQRT2), _param(block.conv2.bias, _INV_SQRT2)
        self.wsc = _param(block.shortcut.weight, _INV_SQRT2) if isinstance(block.shortcut, nn.Conv2d) else None

    def forward(self, x):
        h = _norm_act(x, self.n1w, self.n1b)
        if self.down:
            h = F.conv2d(h, self.w1, self.b1, stride=2, padding=1)
            x = F.avg_pool2d(x, 2)
        else:
            h = F.conv2d(h, self.w1, self.b1, padding=1)
        out = F.conv2d(_norm_act(h, self.n2w, self.n2b), self.w2, self.b2, padding=1)
        if self.wsc is not None:
            return out.add_(F.conv2d(x, self.wsc))
        return out.add_(x, alpha=_INV_SQRT2)


class _FastAdaINResBlock(nn.Module):
    def __init__(self, block: AdaINResBlock):
        super().__init__()
        self.up = block.upsample
        self.affine1 = copy.deepcopy(block.norm1.affine)
        self.affine2 = copy.deepcopy(block.norm2.affine)
        out_ch = block.conv1.out_channels
        if self.up:
            self.w1 = _param(phase_kernels(block.conv1.weight))
            self.b1 = _param(block.conv1.bias.repeat(4))
        else:
            self.w1, self.b1 = _param(block.conv1.weight), _param(block.conv1.bias)
        self.out_ch = out_ch
        self.w2, self.b2 = _param(block.conv2.weight, _INV_SQRT2), _param(block.conv2.bias, _INV_SQRT2)
        self.wsc = _param(block.shortcut.weight, _INV_SQRT2) if isinstance(block.shortcut, nn.Conv2d) else None

    def _style(self, affine, s):
        gamma, beta = affine(s).chunk(2, dim=1)
        return 1 + gamma, beta

    def _up_conv(self, h):
        """conv3x3(nearest_upsample(h)) through the four phase kernels."""
        b, _, height, width = h.shape
        y = F.conv2d(h, self.w1, self.b1, padding=1)  # (B, 4*C, H+1, W+1)
        c = self.out_ch
        channels_last = h.is_contiguous(memory_format=torch.channels_last) and not h.is_contiguous()
        if channels_last:
            out = torch.empty(b, 2 * height, 2 * width, c, dtype=y.dtype, device=y.device)
            grid = out.view(b, height, 2, width, 2, c)
            yl = y.permute(0, 2, 3, 1)
            for phase in range(4):
                py, px = divmod(phase, 2)
                grid[:, :, py, :, px, :] = yl[:, py:py + height, px:px + width, phase * c:(phase + 1) * c]
            return out.permute(0, 3, 1, 2)
        out = torch.empty(b, c, 2 * height, 2 * width, dtype=y.dtype, device=y.device)
        grid = out.view(b, c, height, 2, width, 2)
        for phase in range(4):
            py, px = divmod(phase, 2)
            grid[:, :, :, py, :, px] = y[:, phase * c:(phase + 1) * c, py:py + height, px:px + width]
        return out

    def forward(self, x, s):
        g1, b1 = self._style(self.affine1, s)
        g2, b2 = self._style(self.affine2, s)
        h = _norm_act(x, g1, b1)
        h = self._up_conv(h) if self.up else F.conv2d(h, self.w1, self.b1, padding=1)
        out = F.conv2d(_norm_act(h, g2, b2), self.w2, self.b2, padding=1)
        if self.wsc is not None:
            short = F.conv2d(x, self.wsc)
        else:
            short = x * _INV_SQRT2
        if self.up:
            return _add_upsampled_(out, short)
        return out.add_(short)


class FastTranslationNetwork(nn.Module):
    """Inference-only equivalent of a `TranslationNetwork` (same call: `net(x, s)`)."""

    def __init__(self, network):
        super().__init__()
        self.from_rgb = copy.deepcopy(network.from_rgb)
        self.encode = nn.ModuleList(_FastResBlock(b) for b in network.encode)
        self.decode = nn.ModuleList(_FastAdaINResBlock(b) for b in network.decode)
        norm, _, conv = network.to_rgb
        self.out_w, self.out_b = _param(norm.weight), _param(norm.bias)
        self.to_rgb = copy.deepcopy(conv)
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, content, s):
        x = self.from_rgb(content)
        for block in self.encode:
            x = block(x)
        for block in self.decode:
            x = block(x, s)
        return content + self.to_rgb(_norm_act(x, self.out_w, self.out_b))
