"""Building blocks (ganstyle.nets.layers), the multi-task discriminator built from them, and the losses."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganstyle.nets.discriminator import DiscriminatorConfig, MultiTaskDiscriminator, minibatch_stddev
from ganstyle.nets.layers import (
    AdaIN,
    AdaINResBlock,
    DownResBlock,
    EqualConv2d,
    EqualLinear,
    ModulatedConv2d,
    NoiseInjection,
    ResBlock,
    StyledConv,
    ToRGB,
    leaky_relu,
)
from ganstyle.training.losses import (
    cycle_loss,
    d_logistic_loss,
    diversity_loss,
    g_nonsaturating_loss,
    r1_penalty,
    style_reconstruction_loss,
)


def test_leaky_relu_is_scaled_by_sqrt2():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0])
    expected = torch.where(x > 0, x, 0.2 * x) * math.sqrt(2)
    torch.testing.assert_close(leaky_relu(x), expected)


def test_equal_linear_scales_weights_at_run_time():
    torch.manual_seed(0)
    layer = EqualLinear(8, 5, bias_init=0.5, lr_mul=0.01)
    x = torch.randn(3, 8)
    expected = x @ (layer.weight * 0.01 / math.sqrt(8)).t() + layer.bias * 0.01
    torch.testing.assert_close(layer(x), expected)
    # stored weights are N(0, 1/lr_mul): effective weights are ~N(0, 1/in_dim) regardless of lr_mul
    assert layer.weight.std() > 10
    torch.testing.assert_close(layer.bias, torch.full((5,), 0.5))
    act = EqualLinear(8, 5, activation=True)
    torch.testing.assert_close(act(x), leaky_relu(F.linear(x, act.weight / math.sqrt(8), act.bias)))


def test_equal_conv_same_padding_and_scale():
    torch.manual_seed(0)
    conv = EqualConv2d(4, 6, 3)
    x = torch.randn(2, 4, 7, 9)
    out = conv(x)
    assert out.shape == (2, 6, 7, 9)
    torch.testing.assert_close(out, F.conv2d(x, conv.weight / math.sqrt(4 * 9), conv.bias, padding=1))
    assert EqualConv2d(4, 6, 1, bias=False)(x).shape == (2, 6, 7, 9)


def reference_modulated_conv(conv: ModulatedConv2d, x, w):
    """StyleGAN2's definition, computed literally: one modulated (and demodulated) kernel per
    sample, applied as a grouped convolution (Karras et al. 2020, eqs. 1-3)."""
    batch, in_ch, _, _ = x.shape
    a = conv.affine
    style = w @ (a.weight * a.scale).t() + a.bias * a.lr_mul  # (B, in)
    weight = conv.weight[None] * conv.scale * style[:, None, :, None, None]  # (B, out, in, k, k)
    if conv.demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum(dim=[2, 3, 4]) + 1e-8)[:, :, None, None, None]
    if conv.upsample:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    out_ch, k = weight.shape[1], weight.shape[-1]
    h, wd = x.shape[-2:]
    out = F.conv2d(x.reshape(1, batch * in_ch, h, wd), weight.reshape(batch * out_ch, in_ch, k, k),
                   padding=k // 2, groups=batch)
    return out.reshape(batch, out_ch, h, wd)


@pytest.mark.parametrize("kernel,demodulate,upsample", [
    (3, True, False), (3, True, True), (1, False, False), (3, False, False), (1, True, True),
])
def test_modulated_conv_matches_per_sample_weight_reference(kernel, demodulate, upsample):
    torch.manual_seed(0)
    conv = ModulatedConv2d(6, 5, kernel, w_dim=7, demodulate=demodulate, upsample=upsample).double()
    with torch.no_grad():  # a non-trivial affine bias, so every sample gets a different style
        conv.affine.bias.normal_()
    x, w = torch.randn(3, 6, 8, 8, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64)
    out = conv(x, w)
    assert out.shape == (3, 5, 16 if upsample else 8, 16 if upsample else 8)
    torch.testing.assert_close(out, reference_modulated_conv(conv, x, w), rtol=1e-9, atol=1e-9)
    # per sample: the result for one sample does not depend on the others in the batch
    torch.testing.assert_close(conv(x[1:2], w[1:2]), out[1:2], rtol=1e-9, atol=1e-9)


def test_demodulation_makes_output_invariant_to_kernel_scale():
    torch.manual_seed(0)
    conv = ModulatedConv2d(4, 3, 3, w_dim=5).double()
    x, w = torch.randn(2, 4, 6, 6, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    before = conv(x, w)
    with torch.no_grad():
        conv.weight.mul_(7.5)
    torch.testing.assert_close(conv(x, w), before)
    plain = ModulatedConv2d(4, 3, 3, w_dim=5, demodulate=False).double()
    before = plain(x, w)
    with torch.no_grad():
        plain.weight.mul_(2.0)
    torch.testing.assert_close(plain(x, w), 2 * before)


def test_noise_injection_starts_at_zero_and_scales_noise():
    layer = NoiseInjection()
    x, noise = torch.randn(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(layer(x, noise), x)
    with torch.no_grad():
        layer.strength.fill_(0.5)
    torch.testing.assert_close(layer(x, noise), x + 0.5 * noise)


def test_styled_conv_and_to_rgb_shapes():
    torch.manual_seed(0)
    x, w = torch.randn(2, 8, 4, 4), torch.randn(2, 16)
    up = StyledConv(8, 6, 16, upsample=True)
    y = up(x, w, torch.randn(2, 1, 8, 8))
    assert y.shape == (2, 6, 8, 8)
    assert StyledConv(8, 8, 16)(x, w, torch.zeros(1, 1, 4, 4)).shape == (2, 8, 4, 4)
    to_rgb = ToRGB(6, 16)
    rgb = to_rgb(y, w)
    assert rgb.shape == (2, 3, 8, 8)
    skip = torch.randn(2, 3, 4, 4)
    with_skip = to_rgb(y, w, skip)
    torch.testing.assert_close(with_skip - rgb, F.interpolate(skip, scale_factor=2, mode="bilinear",
                                                              align_corners=False))


def test_residual_blocks_change_resolution_as_documented():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    assert DownResBlock(4, 6)(x).shape == (2, 6, 4, 4)
    assert ResBlock(4, 6, downsample=True)(x).shape == (2, 6, 4, 4)
    assert ResBlock(4, 4)(x).shape == (2, 4, 8, 8)
    s = torch.randn(2, 5)
    assert AdaINResBlock(4, 3, 5, upsample=True)(x, s).shape == (2, 3, 16, 16)
    assert AdaINResBlock(4, 4, 5)(x, s).shape == (2, 4, 8, 8)


def test_adain_sets_channel_mean_and_std_from_style():
    torch.manual_seed(0)
    layer = AdaIN(3, 4)
    x, s = torch.randn(2, 3, 16, 16) * 5 + 2, torch.randn(2, 4)
    out = layer(x, s)
    gamma, beta = layer.affine(s).chunk(2, dim=1)
    torch.testing.assert_close(out.mean(dim=[2, 3]), beta, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.std(dim=[2, 3], unbiased=False), (1 + gamma).abs(), atol=1e-3, rtol=1e-3)


def test_discriminator_returns_the_logit_of_each_images_own_style():
    torch.manual_seed(0)
    d = MultiTaskDiscriminator(DiscriminatorConfig(resolution=16, num_styles=3)).eval()
    x = torch.randn(4, 3, 16, 16)
    logits = d(x, torch.tensor([0, 1, 2, 0]))
    assert logits.shape == (4,) and torch.isfinite(logits).all()
    all_heads = torch.stack([d(x, torch.full((4,), k)) for k in range(3)], dim=1)
    torch.testing.assert_close(logits, all_heads[torch.arange(4), torch.tensor([0, 1, 2, 0])])
    assert not torch.allclose(all_heads[:, 0], all_heads[:, 1])


def test_minibatch_stddev_handles_batches_not_divisible_by_group():
    h = torch.randn(6, 5, 4, 4)
    out = minibatch_stddev(h)
    assert out.shape == (6, 1, 4, 4)
    # group of 3 (largest divisor of 6 <= 4): samples i and i+2 share a group (view(group, -1))
    assert torch.allclose(out[0], out[2]) and torch.allclose(out[0], out[4])
    assert not torch.allclose(out[0], out[1])
    # identical samples have zero spread (up to the 1e-8 epsilon)
    flat = minibatch_stddev(torch.ones(4, 5, 4, 4))
    torch.testing.assert_close(flat, torch.full((4, 1, 4, 4), 1e-4), atol=1e-6, rtol=0)


def test_losses_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    torch.testing.assert_close(d_logistic_loss(real, fake), F.softplus(-real).mean() + F.softplus(fake).mean())
    torch.testing.assert_close(g_nonsaturating_loss(fake), F.softplus(-fake).mean())
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(diversity_loss(a, b), (a - b).abs().mean())
    torch.testing.assert_close(cycle_loss(a, b), (a - b).abs().mean())
    torch.testing.assert_close(style_reconstruction_loss(a[:, 0, 0], b[:, 0, 0]), (a - b)[:, 0, 0].abs().mean())
    # R1: D(x) = sum(c * x) has gradient c everywhere, so the penalty is |c|^2 * numel
    images = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = (images * 0.5).flatten(1).sum(1)
    torch.testing.assert_close(r1_penalty(logits, images), torch.tensor(0.25 * 48))


@pytest.mark.parametrize("sampling, expected", [("data", [0.3, 0.6, 0.1]), ("uniform", [1 / 3] * 3)])
def test_generator_batches_put_one_style_in_each_stddev_group(sampling, expected):
    """The generator task arranges labels so that no minibatch-stddev group mixes styles,
    and draws styles as often as the data has them (or equally often, 'uniform')."""
    from types import SimpleNamespace

    from ganstyle.training.generator_task import GeneratorTask

    labels = torch.tensor([0] * 30 + [1] * 60 + [2] * 10)
    task = SimpleNamespace(settings=SimpleNamespace(batch_size=16, style_sampling=sampling), bank=_Bank(labels))
    torch.manual_seed(0)
    drawn = []
    for _ in range(200):
        batch = GeneratorTask._labels(task)
        groups = batch.view(4, -1)  # the view minibatch_stddev takes: column j is group j
        assert (groups == groups[0]).all()
        drawn.append(batch)
    share = torch.bincount(torch.cat(drawn), minlength=3).float() / (200 * 16)
    torch.testing.assert_close(share, torch.tensor(expected), atol=0.05, rtol=0)


class _Bank:
    def __init__(self, labels):
        self.labels = labels
        self.styles = [f"style{i}" for i in range(int(labels.max()) + 1)]

    def __len__(self):
        return len(self.labels)
