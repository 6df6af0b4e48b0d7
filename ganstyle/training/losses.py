"""GAN and StarGAN v2 losses, in one place."""

import torch
import torch.nn.functional as F


def d_logistic_loss(real_logits, fake_logits):
    """Non-saturating discriminator loss: softplus(-D(real)) + softplus(D(fake))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits):
    """Non-saturating generator loss: softplus(-D(fake))."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits, real_images):
    """R1 regularization (Mescheder et al. 2018): squared gradient norm of D on real data.
    `real_images` must have been created with requires_grad=True."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def style_reconstruction_loss(style_code, recovered_code):
    """The style encoder must recover the style code from the translated image."""
    return (style_code - recovered_code).abs().mean()


def diversity_loss(image_a, image_b):
    """Diversity-sensitive term: mean L1 between two outputs of different style codes.
    Maximized (subtracted) by the translator."""
    return (image_a - image_b).abs().mean()


def cycle_loss(reconstruction, original):
    """Translating back with the original's own style code must give the original."""
    return (reconstruction - original).abs().mean()


def weighted_l1(output, target, weights):
    """Mean absolute difference with each image's terms scaled by its entry of `weights` (N,):
    the painter's per-style distillation factors (all ones: exactly `F.l1_loss`)."""
    return (weights.view(-1, *[1] * (output.dim() - 1)) * (output - target).abs()).mean()


def weighted_softplus(logits, weights):
    """Mean of softplus(logits) (N, K) with each image's row scaled by its entry of `weights`
    (N,): the painter's per-style factors on the matching-aware term (all ones: exactly
    `F.softplus(logits).mean()`)."""
    return (weights.view(-1, 1) * F.softplus(logits)).mean()
