"""GAN inversion: find the latents and noise maps whose image looks most like a given picture.

Generation can then start or end at a user's own images (interpolating between two
photos' latents, as in Image2StyleGAN). The search is an optimization-based projector after
StyleGAN2's, started where an encoder says (In-Domain GAN Inversion, Zhu et al. 2020: an
encoder gives the start, optimization the detail): from the closest of the encoder's w+
(when the generator has one), the style's mean w and a few of its latents, follow the
gradient of an image distance with Adam. The noise maps are optimized too, because a
generator trained on fresh noise takes part of its layout from them; a regularizer keeps
them noise-like (no spatial autocorrelation at any scale) so they cannot simply paint the
target. The distance is pixel MSE at the generator's resolution and at half and quarter
size, which weighs overall layout and colour over fine texture; it needs no pretrained
feature network, so inversion works wherever the generator does.

Against the first version (a single w from the style's mean, Adam at a constant 0.1, 200
steps), the encoder's start, the w+ latents, the lighter noise regularizer and the
warmed-up higher rate reach the same distance in about a quarter of the steps;
benchmarks/inversion.py measures both in one run.
"""

import torch
import torch.nn.functional as F
from torch import nn

# Weight of the noise regularizer against the pixel distance. StyleGAN2's projector uses 1e5
# with LPIPS at 1024 px; against pixel MSE at 64 px, 10 leaves a photo's reconstruction 4x
# worse, and 1 (the first choice) slows the search by a third against 0.1 while its maps end
# no whiter: at 0.1 their autocorrelation stays below 3e-4 on photographs and paintings (a
# map that paints the target, as without the regularizer, scores about 2-5).
NOISE_REGULARIZATION = 0.1


def image_distance(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error at full, half and quarter resolution, per image (B,)."""
    return sum((F.avg_pool2d(output, f) - F.avg_pool2d(target, f)).pow(2).flatten(1).mean(1)
               for f in (1, 2, 4)) / 3


def noise_autocorrelation(noise: list) -> torch.Tensor:
    """Squared autocorrelation of each map with its one-pixel shifts, summed over the map and
    its 2x downsamplings to 8 px: zero for white noise, large for maps that draw a picture."""
    loss = 0.0
    for n in noise:
        while True:
            loss = loss + (n * torch.roll(n, 1, dims=3)).mean().pow(2) + (n * torch.roll(n, 1, dims=2)).mean().pow(2)
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return loss


@torch.no_grad()
def _normalize_(noise: list) -> None:
    for n in noise:
        n.sub_(n.mean(dim=(1, 2, 3), keepdim=True)).div_(n.std(dim=(1, 2, 3), keepdim=True))


START_CANDIDATES = 4
"""Latents of the target's style tried as the start besides the encoder's and the style's
mean w, drawn from fixed seeds; the one whose image is closest to the target wins (one
batched forward pass without gradients, about two optimization steps; 16 started no better)."""
LEARNING_RATE = 0.3
WARMUP_STEPS = 20
"""Adam's learning rate rises linearly to LEARNING_RATE over these first steps: the first
gradients are large and, taken at full rate, throw w far off (a constant 0.2 was worse than 0.1)."""
DEFAULT_STEPS = 90
PATIENCE, MIN_IMPROVEMENT = 20, 0.01
"""Early stopping: the search ends when the best distance has not fallen by MIN_IMPROVEMENT
(relative) within the last PATIENCE steps."""


class LatentEncoder(nn.Module):
    """An image (B, 3, R, R) -> the offset of its w+ latent from its style's mean w
    (B, num_ws, w_dim): stride-2 stages (each a strided and a plain 3x3 convolution) down to
    4 px, then a head through a `code_dim` bottleneck (a full linear map from the 4 x 4 maps
    to every w would weigh ~40 MB at 64 px; the w of the layers are strongly correlated)
    whose last layer starts at zero, so an untrained encoder proposes the style's mean w.
    Trained with the generator frozen (training/encoder_task.py)."""

    def __init__(self, channels: list, num_ws: int, w_dim: int, code_dim: int = 256):
        super().__init__()
        layers, ch = [], 3
        for out in channels:
            layers += [nn.Conv2d(ch, out, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(out, out, 3, 1, 1), nn.LeakyReLU(0.2)]
            ch = out
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(ch * 4 * 4, code_dim), nn.LeakyReLU(0.2),
                                  nn.Linear(code_dim, num_ws * w_dim))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.shape = (num_ws, w_dim)

    def forward(self, images):
        return self.head(self.trunk(images).flatten(1)).view(-1, *self.shape)


def _start(generator, target: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """The start latent w+ (1, num_ws, w_dim) for one target (1, 3, R, R): the closest image
    among the encoder's latent (when the generator has an encoder), the style's mean w and
    START_CANDIDATES latents of the style from fixed seeds (stored noise)."""
    z = torch.randn(START_CANDIDATES, generator.config.latent_dim, generator=torch.Generator().manual_seed(0))
    w = torch.cat([generator.w_avg[label], generator.mapping(z.to(target.device), label.expand(len(z)))])
    candidates = generator.broadcast(w)
    if generator.encoder is not None:
        candidates = torch.cat([generator.encode(target, label), candidates])
    images = generator.synthesis(candidates)
    best = int(image_distance(images, target.expand_as(images)).argmin())
    return candidates[best:best + 1]


def project(generator, target: torch.Tensor, labels: torch.Tensor, steps: int = DEFAULT_STEPS, callback=None):
    """Latents w+ (B, num_ws, w_dim) and noise maps (as `make_noise` returns them) whose images
    are closest to `target` images (B, 3, R, R in [-1, 1]) in the given styles, and the best
    distance reached (B,). Deterministic.

    Starts at the closest of the encoder's latent, the style's mean w and a few of its
    latents (`_start`), with the stored noise maps; optimizes one w per synthesis layer (w+,
    Image2StyleGAN: it reaches a given distance in about half the steps of a single w) and
    the noise maps with Adam, the rate warmed up over WARMUP_STEPS; stops after `steps`
    steps or earlier when the distance has stopped falling (PATIENCE, MIN_IMPROVEMENT), and
    returns the best latents seen. `callback(step, steps, distance)` is called after every
    step (distance: the batch's mean image distance at that step)."""
    # Callers may be in inference mode (the pipeline is); the search needs autograd. Gradients
    # are taken for w and the noise alone, so the generator's weights are neither
    # differentiated nor touched.
    with torch.inference_mode(False), torch.enable_grad():
        target = target.clone()
        with torch.no_grad():
            start = torch.cat([_start(generator, target[i:i + 1], labels[i:i + 1]) for i in range(len(labels))])
        w = start.clone().requires_grad_(True)
        noise = [m.expand(len(labels), -1, -1, -1).clone().requires_grad_(True) for m in generator.const_noise()]
        optimizer = torch.optim.Adam([w, *noise], lr=LEARNING_RATE)
        best, best_at, history = None, 0, []
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = LEARNING_RATE * min(1.0, (step + 1) / WARMUP_STEPS)
            image = generator.synthesis(w, noise=noise)
            distance = image_distance(image, target)
            loss = distance.sum() + NOISE_REGULARIZATION * noise_autocorrelation(noise)
            value = float(distance.detach().mean())
            if best is None or value < best[0]:
                best = (value, w.detach().clone(), [n.detach().clone() for n in noise], distance.detach())
            history.append(best[0])
            grads = torch.autograd.grad(loss, [w, *noise])
            for tensor, grad in zip([w, *noise], grads):
                tensor.grad = grad
            optimizer.step()
            _normalize_(noise)
            if callback is not None:
                callback(step + 1, steps, value)
            if step >= PATIENCE and history[-1] > (1 - MIN_IMPROVEMENT) * history[-1 - PATIENCE]:
                break
        return best[1], best[2], best[3]
