"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for training on small datasets.

The same random colour, translation and cutout are applied to real and fake images before
the discriminator sees them; gradients flow through to the generator, so the discriminator
cannot memorize a few hundred paintings and the generator does not learn the augmentations.
"""

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def diff_augment(x: torch.Tensor, policy=POLICIES) -> torch.Tensor:
    """Augment a batch (B, 3, H, W in [-1, 1]) with the named transforms, in order.
    Refuses unknown policy names."""
    for name in policy:
        if name not in _TRANSFORMS:
            raise ValueError(f"unknown augmentation {name!r}; choose from {', '.join(POLICIES)}")
        x = _TRANSFORMS[name](x)
    return x


def _color(x):
    batch = x.shape[0]
    rand = lambda: torch.rand(batch, 1, 1, 1, dtype=x.dtype, device=x.device)  # noqa: E731
    x = x + (rand() - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (rand() * 2) + mean  # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (rand() + 0.5) + mean  # contrast


def _translation(x, ratio=0.125):
    """Shift by up to `ratio` of the size, filling with zeros (grid_sample keeps it differentiable)."""
    batch = x.shape[0]
    shift = (torch.rand(batch, 2, device=x.device, dtype=x.dtype) * 2 - 1) * ratio * 2
    theta = torch.zeros(batch, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _cutout(x, ratio=0.5):
    """Zero a random square of half the image size per sample."""
    batch, _, height, width = x.shape
    ch, cw = int(height * ratio + 0.5), int(width * ratio + 0.5)
    cy = torch.randint(0, height + 1 - ch % 2, (batch, 1, 1), device=x.device) - ch // 2
    cx = torch.randint(0, width + 1 - cw % 2, (batch, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(height, device=x.device).view(1, -1, 1)
    xs = torch.arange(width, device=x.device).view(1, 1, -1)
    inside = (ys >= cy) & (ys < cy + ch) & (xs >= cx) & (xs < cx + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}
