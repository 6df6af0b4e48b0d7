"""DiffAugment: colour, translation and cutout, differentiable and shape-preserving."""

import pytest
import torch

from ganstyle.training.augment import POLICIES, diff_augment


def batch(n=8, size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=gen) * 2 - 1


def test_shape_dtype_and_finite_for_every_policy():
    x = batch()
    for policy in [POLICIES, ("color",), ("translation",), ("cutout",), ()]:
        torch.manual_seed(0)
        out = diff_augment(x, policy)
        assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()
    assert torch.equal(diff_augment(x, ()), x)


def test_default_policy_changes_every_image():
    torch.manual_seed(0)
    x = batch()
    out = diff_augment(x)
    assert all(not torch.allclose(out[i], x[i]) for i in range(len(x)))


def test_same_seed_same_augmentation():
    x = batch()
    torch.manual_seed(3)
    a = diff_augment(x)
    torch.manual_seed(3)
    b = diff_augment(x)
    torch.manual_seed(4)
    c = diff_augment(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        diff_augment(batch(), ("color", "blur"))


def test_gradients_flow_through_every_transform():
    for policy in [("color",), ("translation",), ("cutout",), POLICIES]:
        torch.manual_seed(1)
        x = batch().requires_grad_(True)
        diff_augment(x, policy).square().sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
        assert x.grad.abs().sum() > 0, policy


def test_cutout_zeroes_one_square_of_at_most_half_the_size():
    torch.manual_seed(0)
    x = torch.ones(64, 3, 16, 16)
    out = diff_augment(x, ("cutout",))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])  # same mask for all channels
    zeros = (out[:, 0] == 0)
    counts = zeros.flatten(1).sum(1)
    # an 8x8 square, possibly clipped at the border to no less than 4x4
    assert counts.max() <= 64 and counts.min() >= 16
    assert (counts == 64).any()
    for mask in zeros:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert mask.sum() == len(rows) * len(cols)  # a rectangle
        assert rows.max() - rows.min() + 1 == len(rows) and cols.max() - cols.min() + 1 == len(cols)


def test_translation_shifts_by_at_most_an_eighth_and_fills_with_zeros():
    torch.manual_seed(0)
    x = torch.zeros(32, 3, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel in the middle
    out = diff_augment(x, ("translation",))
    moved = 0
    for img in out:
        pos = (img[0] == 1).nonzero()
        assert len(pos) == 1, "translation must move, not blur or drop, a pixel in the interior"
        dy, dx = (pos[0] - 8).abs().tolist()
        assert dy <= 2 and dx <= 2
        moved += (dy + dx) > 0
    assert moved > 0
    ones = diff_augment(torch.ones(16, 3, 16, 16), ("translation",))
    assert set(ones.unique().tolist()) <= {0.0, 1.0}


def test_color_is_a_per_image_affine_change():
    torch.manual_seed(0)
    x = batch(4)
    out = diff_augment(x, ("color",))
    flat_in = torch.full((4, 3, 16, 16), 0.25)
    torch.manual_seed(0)
    flat_out = diff_augment(flat_in, ("color",))
    # a uniform grey image stays uniform: brightness shifts it, saturation/contrast act on deviations
    assert torch.allclose(flat_out, flat_out[:, :1, :1, :1].expand_as(flat_out), atol=1e-6)
    assert not torch.allclose(flat_out[0], flat_out[1])
    assert not torch.allclose(out, x)
