"""GAN inversion: find the latent w whose image looks most like a given picture.

Generation can then start or end at a user's own images (interpolating between two
photos' latents, as in Image2StyleGAN). The search is the simple optimization-based
projection of StyleGAN2: start at the style's mean w, follow the gradient of an image
distance with Adam. The distance is pixel MSE at the generator's resolution and at half and
quarter size, which weighs overall layout and colour over fine texture; it needs no
pretrained feature network, so inversion works wherever the generator does.
"""

import torch
import torch.nn.functional as F


def image_distance(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error at full, half and quarter resolution, per image (B,)."""
    return sum((F.avg_pool2d(output, f) - F.avg_pool2d(target, f)).pow(2).flatten(1).mean(1)
               for f in (1, 2, 4)) / 3


def project(generator, target: torch.Tensor, labels: torch.Tensor, steps: int = 200, lr: float = 0.1):
    """Latents w (B, w_dim) of `target` images (B, 3, R, R in [-1, 1]) in the given styles.
    Deterministic: starts at each style's mean w; no random noise."""
    # Callers may be in inference mode (the pipeline is); the search needs autograd. Gradients
    # are taken for w alone, so the generator's weights are neither differentiated nor touched.
    with torch.inference_mode(False), torch.enable_grad():
        target = target.clone()
        w = generator.w_avg[labels].clone().requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=lr)
        for _ in range(steps):
            loss = image_distance(generator.synthesis(generator.broadcast(w)), target).sum()
            (w.grad,) = torch.autograd.grad(loss, [w])
            optimizer.step()
        return w.detach()
