"""The conditional StyleGAN2 generator: shapes, truncation, style mixing, noise, mapping."""

import pytest
import torch

from ganstyle.nets.generator import GeneratorConfig, MappingNetwork, StyleGenerator, normalize


def make_generator(resolution=16, num_styles=3, seed=0, **kw) -> StyleGenerator:
    torch.manual_seed(seed)
    config = GeneratorConfig(resolution=resolution, num_styles=num_styles, latent_dim=32, w_dim=48,
                             mapping_layers=2, channel_base=256, max_channels=32, **kw)
    g = StyleGenerator(config).eval()
    with torch.no_grad():  # a trained generator has distinct per-style mean w's
        g.w_avg.copy_(torch.randn_like(g.w_avg))
    return g


@pytest.mark.parametrize("resolution", [8, 16, 32])
def test_output_shape_and_range(resolution):
    g = make_generator(resolution)
    z = torch.randn(5, g.config.latent_dim)
    with torch.no_grad():
        images = g(z, torch.tensor([0, 1, 2, 0, 1]))
    assert images.shape == (5, 3, resolution, resolution)
    assert images.dtype == torch.float32
    assert torch.isfinite(images).all()
    # unit-variance design: about [-1, 1] in spread, nowhere near blowing up
    assert 0.05 < images.std().item() < 5
    assert images.abs().max().item() < 25
    # log2(R) * 2 - 2 entries of w+: two per resolution level plus the 4x4 conv and toRGB
    assert g.num_ws == {8: 4, 16: 6, 32: 8}[resolution]
    assert len(g.noise_sizes) == g.num_ws - 1


def test_default_config_doc_example():
    torch.manual_seed(0)
    g = StyleGenerator(GeneratorConfig(resolution=32, num_styles=3))
    z = torch.randn(2, g.config.latent_dim)
    assert g(z, torch.tensor([0, 2]), truncation=0.7).shape == (2, 3, 32, 32)
    assert g.config.channels(4) == 256 and g.config.channels(32) == 64


@pytest.mark.parametrize("kwargs", [{"resolution": 12}, {"resolution": 4}, {"resolution": 0}, {"num_styles": 0},
                                    {"resolution": 32, "noise_min_resolution": 12},
                                    {"resolution": 32, "noise_min_resolution": 2},
                                    {"resolution": 32, "noise_min_resolution": 128}])
def test_config_refuses_invalid_values(kwargs):
    with pytest.raises(ValueError):
        GeneratorConfig(**kwargs)


def test_mapping_output_and_invariance_to_z_scale():
    g = make_generator()
    z, labels = torch.randn(4, g.config.latent_dim), torch.tensor([0, 1, 2, 2])
    w = g.mapping(z, labels)
    assert w.shape == (4, g.config.w_dim) and torch.isfinite(w).all()
    # z is pixel-normalized first, so scaling z changes nothing
    torch.testing.assert_close(g.mapping(z * 3.7, labels), w)
    # the label matters
    assert not torch.allclose(g.mapping(z, torch.tensor([1, 2, 0, 0])), w)
    x = torch.randn(3, 10) * 5
    torch.testing.assert_close(normalize(x).pow(2).mean(dim=1), torch.ones(3), rtol=1e-5, atol=1e-5)
    assert isinstance(g.mapping, MappingNetwork)


def test_truncation_zero_gives_the_styles_average_image():
    g = make_generator()
    labels = torch.tensor([0, 1, 2])
    with torch.no_grad():
        a = g(torch.randn(3, g.config.latent_dim), labels, truncation=0.0)
        b = g(torch.randn(3, g.config.latent_dim), labels, truncation=0.0)
        expected = g.synthesis(g.broadcast(g.w_avg[labels]))
    torch.testing.assert_close(a, expected)
    torch.testing.assert_close(b, expected)  # independent of z
    assert not torch.allclose(a[0], a[1])  # but each style has its own average image


def test_truncation_interpolates_toward_the_style_mean():
    g = make_generator()
    z, labels = torch.randn(2, g.config.latent_dim), torch.tensor([2, 0])
    w = g.mapping(z, labels)
    assert g.truncate(w, labels, 1.0) is w
    torch.testing.assert_close(g.truncate(w, labels, 0.5), (w + g.w_avg[labels]) / 2)
    with torch.no_grad():
        full, half = g(z, labels), g(z, labels, truncation=0.5)
    assert not torch.allclose(full, half)


def test_update_w_avg_moves_only_the_styles_seen():
    g = make_generator()
    before = g.w_avg.clone()
    w = torch.randn(4, g.config.w_dim)
    labels = torch.tensor([1, 1, 2, 2])
    g.update_w_avg(w, labels, beta=0.9)
    torch.testing.assert_close(g.w_avg[0], before[0])
    torch.testing.assert_close(g.w_avg[1], 0.9 * before[1] + 0.1 * w[:2].mean(0))
    torch.testing.assert_close(g.w_avg[2], 0.9 * before[2] + 0.1 * w[2:].mean(0))


def test_style_mixing_changes_the_output():
    g = make_generator()
    labels = torch.tensor([0, 1])
    with torch.no_grad():
        w1 = g.mapping(torch.randn(2, g.config.latent_dim), labels)
        w2 = g.mapping(torch.randn(2, g.config.latent_dim), labels)
        ws1, ws2 = g.broadcast(w1), g.broadcast(w2)
        assert ws1.shape == (2, g.num_ws, g.config.w_dim)
        plain = g.synthesis(ws1)
        for crossover in range(1, g.num_ws):
            mixed = g.synthesis(torch.cat([ws1[:, :crossover], ws2[:, crossover:]], dim=1))
            assert mixed.shape == plain.shape
            assert not torch.allclose(mixed, plain, atol=1e-4), f"mixing from layer {crossover} had no effect"
        # a "mix" that keeps every layer from w1 is no mix at all
        n = g.num_ws
        torch.testing.assert_close(g.synthesis(torch.cat([ws1[:, :n], ws2[:, n:]], dim=1)), plain)
        # the synthesis of a broadcast w is what forward() computes
        z = torch.randn(2, g.config.latent_dim)
        torch.testing.assert_close(g(z, labels), g.synthesis(g.broadcast(g.mapping(z, labels))))


def test_every_entry_of_w_plus_is_used():
    g = make_generator()
    with torch.no_grad():
        ws = g.broadcast(g.mapping(torch.randn(1, g.config.latent_dim), torch.tensor([1])))
        base = g.synthesis(ws)
        for i in range(g.num_ws):
            changed = ws.clone()
            changed[:, i] += torch.randn(g.config.w_dim)
            assert not torch.allclose(g.synthesis(changed), base, atol=1e-5), f"w+ entry {i} unused"


def test_const_noise_is_deterministic_and_random_noise_is_not():
    g = make_generator()
    z, labels = torch.randn(3, g.config.latent_dim), torch.tensor([0, 1, 2])
    with torch.no_grad():
        a, b = g(z, labels, noise_mode="const"), g(z, labels, noise_mode="const")
        assert torch.equal(a, b)
        # noise strengths start at 0, so fresh noise has no effect until training moves them
        torch.testing.assert_close(g(z, labels, noise_mode="random"), a)
        for module in g.modules():
            if hasattr(module, "strength"):
                module.strength.fill_(0.3)
        c, d = g(z, labels, noise_mode="random"), g(z, labels, noise_mode="random")
        assert not torch.allclose(c, d)
        assert torch.equal(g(z, labels), g(z, labels))
        # const mode: one sample's image does not depend on the rest of the batch
        torch.testing.assert_close(g(z[1:2], labels[1:2]), g(z, labels)[1:2], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="noise_mode"):
        g(z, labels, noise_mode="fresh")


def test_noise_min_resolution_leaves_the_coarse_layers_without_noise():
    """Layers below noise_min_resolution ignore their maps; the finer ones still use theirs."""
    g = make_generator(resolution=32, noise_min_resolution=16)
    with torch.no_grad():
        for module in g.modules():
            if hasattr(module, "strength"):
                module.strength.fill_(0.5)
        ws = g.broadcast(g.mapping(torch.randn(2, g.config.latent_dim), torch.tensor([0, 1])))
        base = g.make_noise(2, generator=torch.Generator().manual_seed(1))
        other = g.make_noise(2, generator=torch.Generator().manual_seed(2))
        coarse = [o if size < 16 else b for b, o, size in zip(base, other, g.noise_sizes)]
        fine = [o if size >= 16 else b for b, o, size in zip(base, other, g.noise_sizes)]
        image = g.synthesis(ws, noise=base)
        assert torch.equal(g.synthesis(ws, noise=coarse), image)  # 4 and 8 px maps: unused
        assert not torch.allclose(g.synthesis(ws, noise=fine), image)
        everywhere = make_generator(resolution=32)  # the default: noise from 4 px on, same weights
        everywhere.load_state_dict(g.state_dict())
        assert not torch.allclose(everywhere.synthesis(ws, noise=coarse), everywhere.synthesis(ws, noise=base))
        assert make_generator(resolution=32, noise_min_resolution=64).synthesis(ws, noise_mode="random").shape == (
            2, 3, 32, 32)  # 2 x the resolution: no noise anywhere


def test_const_noise_is_the_same_for_every_instance():
    a, b = make_generator(seed=0), make_generator(seed=1)
    for i in range(len(a.noise_sizes)):
        assert torch.equal(getattr(a, f"noise_const_{i}"), getattr(b, f"noise_const_{i}"))
    assert not torch.equal(a.const, b.const)


def test_different_styles_give_different_images_and_gradients_flow():
    g = make_generator().train()
    z = torch.randn(2, g.config.latent_dim)
    x0, x1 = g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1]))
    assert not torch.allclose(x0, x1)
    (x0.square().mean() + x1.mean()).backward()
    for name, p in g.named_parameters():
        if "noise.strength" in name:  # noise strength has zero gradient only through zero noise
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert g.mapping.layers[0].weight.grad.abs().sum() > 0
    assert g.const.grad.abs().sum() > 0


def test_make_noise_shapes_seeding_and_explicit_noise():
    g = StyleGenerator(GeneratorConfig(resolution=16, num_styles=2, channel_base=64, max_channels=16))
    maps = g.make_noise(3, generator=torch.Generator().manual_seed(1))
    assert [tuple(m.shape) for m in maps] == [(3, 1, s, s) for s in g.noise_sizes]
    again = g.make_noise(3, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(maps, again))
    with torch.no_grad():
        for p_name, p in g.named_parameters():
            if p_name.endswith("noise.strength"):
                p.fill_(0.5)
        ws = g.broadcast(g.mapping(torch.randn(3, g.config.latent_dim), torch.tensor([0, 1, 1])))
        # explicit maps are what synthesis uses; the stored ones are noise_mode="const"
        torch.testing.assert_close(g.synthesis(ws, noise=g.const_noise()), g.synthesis(ws))
        assert not torch.allclose(g.synthesis(ws, noise=maps), g.synthesis(ws))
        torch.testing.assert_close(g.synthesis(ws, noise=maps), g.synthesis(ws, noise=again))
    with pytest.raises(ValueError, match="noise must hold"):
        g.synthesis(ws, noise=maps[:-1])
