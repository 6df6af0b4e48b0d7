"""The inference-only FastTranslationNetwork computes what TranslationNetwork computes."""

import copy

import pytest
import torch

from ganstyle.nets.fast_translator import FastTranslationNetwork
from ganstyle.nets.translator import StyleTranslator, TranslatorConfig


def make_translator(**overrides):
    torch.manual_seed(0)
    config = dict(resolution=32, num_styles=3, style_dim=12, latent_dim=8, base_channels=8, max_channels=32,
                  hidden_dim=32)
    config.update(overrides)
    t = StyleTranslator(TranslatorConfig(**config)).eval()
    randomize(t)
    return t


def randomize(t):
    """Non-trivial norm affines and a non-zero last layer (it is zero-initialized, which
    would make the output equal the content whatever the rest computes)."""
    with torch.no_grad():
        for m in t.modules():
            if isinstance(m, torch.nn.InstanceNorm2d) and m.affine:
                m.weight.normal_(1, 0.3)
                m.bias.normal_(0, 0.3)
        t.network.to_rgb[-1].weight.normal_(0, 0.3)
        t.network.to_rgb[-1].bias.normal_(0, 0.1)


@pytest.mark.parametrize("shape", [(1, 32, 32), (2, 32, 48), (1, 40, 24)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_network_matches_the_network(shape, channels_last):
    t = make_translator()
    batch, h, w = shape
    x = torch.rand(batch, 3, h, w) * 2 - 1
    s = torch.randn(batch, t.config.style_dim)
    fast = FastTranslationNetwork(t.network)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = t.network(x, s)
        assert (expected - x).abs().max() > 0.1  # the test is not vacuous
        torch.testing.assert_close(fast(x, s), expected, rtol=1e-4, atol=1e-4)


def test_default_config_matches():
    torch.manual_seed(1)
    t = StyleTranslator(TranslatorConfig(num_styles=2)).eval()
    randomize(t)
    x, s = torch.rand(1, 3, 64, 64) * 2 - 1, torch.randn(1, 64)
    with torch.no_grad():
        torch.testing.assert_close(FastTranslationNetwork(t.network)(x, s), t.network(x, s), rtol=1e-4, atol=1e-4)


def test_forward_uses_fast_path_only_for_inference_and_tracks_weight_changes():
    t = make_translator()
    x, s = torch.rand(1, 3, 32, 32) * 2 - 1, torch.randn(1, 12)
    keys = set(t.state_dict())
    with torch.no_grad():
        first = t(x, s)
        assert "_fast_cache" in t.__dict__
        torch.testing.assert_close(first, t.network(x, s), rtol=1e-4, atol=1e-4)
        for p in t.network.parameters():  # an in-place update (EMA, load_state_dict) invalidates the cache
            p.mul_(0.9)
        torch.testing.assert_close(t(x, s), t.network(x, s), rtol=1e-4, atol=1e-4)
    assert set(t.state_dict()) == keys  # the cache is not a submodule
    assert len(list(t.parameters())) == len(list(copy.deepcopy(t).parameters()))
    t.train()
    out = t(x, s)  # training: the plain network, with gradients
    assert out.requires_grad


def test_fast_path_can_be_switched_off():
    t = make_translator()
    t.fast_inference = False
    x, s = torch.rand(1, 3, 32, 32) * 2 - 1, torch.randn(1, 12)
    with torch.no_grad():
        assert torch.equal(t(x, s), t.network(x, s))
    assert "_fast_cache" not in t.__dict__
