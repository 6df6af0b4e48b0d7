"""The StarGAN v2-style translator: translation network, mapping network, style encoder."""

import pytest
import torch

from ganstyle.nets.translator import StyleTranslator, TranslatorConfig


def make_translator(resolution=16, num_styles=3, seed=0, trained=True) -> StyleTranslator:
    """A small translator. A fresh one stays close to the identity (its last layer starts
    small); `trained=True` gives that layer larger weights, as training does."""
    torch.manual_seed(seed)
    config = TranslatorConfig(resolution=resolution, num_styles=num_styles, style_dim=12, latent_dim=8,
                              base_channels=8, max_channels=32, hidden_dim=32)
    t = StyleTranslator(config).eval()
    if trained:
        with torch.no_grad():
            t.network.to_rgb[-1].weight.normal_(0, 0.3)
            t.network.to_rgb[-1].bias.normal_(0, 0.1)
    return t


def images(n, size=16, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=gen) * 2 - 1


@pytest.mark.parametrize("resolution", [16, 32])
def test_shapes_and_ranges(resolution):
    t = make_translator(resolution)
    content = images(4, resolution)
    labels = torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        s_latent = t.style_from_latent(torch.randn(4, t.config.latent_dim), labels)
        s_ref = t.style_code_from_reference(images(4, resolution, seed=2), labels)
        out = t(content, s_latent)
    assert s_latent.shape == s_ref.shape == (4, t.config.style_dim)
    assert out.shape == (4, 3, resolution, resolution)
    for tensor in (s_latent, s_ref, out):
        assert torch.isfinite(tensor).all()
    assert 0.01 < out.std().item() < 5 and out.abs().max().item() < 25


def test_default_config_doc_example():
    torch.manual_seed(0)
    t = StyleTranslator(TranslatorConfig(resolution=32, num_styles=3))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    s = t.style_from_latent(torch.randn(2, 16), torch.tensor([1, 2]))
    assert t(x, s).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("kwargs", [
    {"num_styles": 1}, {"resolution": 8}, {"resolution": 20}, {"resolution": 32, "num_downsamples": 6},
])
def test_config_refuses_invalid_values(kwargs):
    with pytest.raises(ValueError):
        TranslatorConfig(**kwargs)


def test_a_fresh_translator_stays_close_to_the_content():
    t = make_translator(trained=False)
    content = images(3)
    labels = torch.tensor([0, 1, 2])
    with torch.no_grad():
        out = t(content, t.style_from_latent(torch.randn(3, t.config.latent_dim), labels))
    change = (out - content).abs().mean().item()
    assert 0 < change < 0.2


def test_translation_network_is_fully_convolutional():
    t = make_translator(16)
    s = t.style_from_latent(torch.randn(2, t.config.latent_dim), torch.tensor([0, 1]))
    with torch.no_grad():
        assert t(images(2, 32), s).shape == (2, 3, 32, 32)
        assert t(images(2, 24), s).shape == (2, 3, 24, 24)


def test_style_code_controls_the_output():
    t = make_translator()
    content = images(2)
    z = torch.randn(2, t.config.latent_dim)
    with torch.no_grad():
        s0 = t.style_from_latent(z, torch.tensor([0, 0]))
        s1 = t.style_from_latent(z, torch.tensor([1, 1]))
        assert not torch.allclose(s0, s1)
        a, b = t(content, s0), t(content, s0)
        assert torch.equal(a, b)  # deterministic
        assert not torch.allclose(t(content, s1), a, atol=1e-4)
        # different latents give different codes of the same style (diverse outputs)
        s0b = t.style_from_latent(torch.randn(2, t.config.latent_dim), torch.tensor([0, 0]))
        assert not torch.allclose(s0b, s0)


def test_mapping_and_encoder_pick_the_head_of_each_label():
    t = make_translator()
    z, refs = torch.randn(3, t.config.latent_dim), images(3)
    labels = torch.tensor([2, 0, 1])
    with torch.no_grad():
        codes = t.style_from_latent(z, labels)
        h = t.mapping.shared(z)
        for i, label in enumerate(labels.tolist()):
            torch.testing.assert_close(codes[i], t.mapping.heads[label](h)[i])
        ref_codes = t.style_code_from_reference(refs, labels)
        for label in range(3):
            same = t.style_code_from_reference(refs, torch.full((3,), label))
            for i in torch.nonzero(labels == label).flatten().tolist():
                torch.testing.assert_close(ref_codes[i], same[i])


def test_reference_of_another_size_is_resized_to_the_encoder_resolution():
    t = make_translator(16)
    labels = torch.tensor([0, 1])
    with torch.no_grad():
        big = t.style_code_from_reference(images(2, 40), labels)
        small = t.style_code_from_reference(images(2, 8), labels)
    assert big.shape == small.shape == (2, t.config.style_dim)
    assert torch.isfinite(big).all() and torch.isfinite(small).all()


def test_each_sample_is_translated_independently():
    t = make_translator().double()  # float64: batched and single convolutions round alike
    content = images(3).double()
    s = t.style_from_latent(torch.randn(3, t.config.latent_dim, dtype=torch.float64), torch.tensor([0, 1, 2]))
    with torch.no_grad():
        batch = t(content, s)
        for i in range(3):
            torch.testing.assert_close(t(content[i:i + 1], s[i:i + 1]), batch[i:i + 1], rtol=1e-9, atol=1e-9)


def test_gradients_reach_all_three_networks():
    t = make_translator().train()
    content, labels = images(2), torch.tensor([0, 1])
    s_lat = t.style_from_latent(torch.randn(2, t.config.latent_dim), labels)
    s_ref = t.style_code_from_reference(images(2, seed=5), labels)
    (t(content, s_lat).mean() + t(content, s_ref).square().mean()).backward()
    for part in (t.network, t.mapping, t.encoder):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0
