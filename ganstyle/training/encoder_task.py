"""The inversion encoder's training step: a trained generator, frozen, learns to invert
itself in one forward pass (the start of nets/inversion.py's search).

Per step, half the batch is images the generator draws (from known w, truncated by a random
amount, with its stored noise maps, as inversion renders), half real training images:

- reconstruction: the pixel distance the projector minimizes (`image_distance`), between
  each image and the generator's render of the encoder's w+, for both halves: on real
  images it is the only signal, and the one inversion is judged by;
- latent regression on the drawn half: the encoder's w+ against the w that drew the image
  (divided by w's variance), which keeps its latents where the generator's are, so an
  interpolation between two inverted images passes through images the generator knows.
"""

import dataclasses
import math

import torch
import torch.nn.functional as F
from PIL import Image

from ..data import DataError
from ..imageio import from_uint8
from ..nets.generator import StyleGenerator
from ..nets.inversion import image_distance
from ..storage.model_folder import load_export
from .grid import image_grid
from .task import Task, set_requires_grad

LATENT_WEIGHT = 0.005
"""Weight of the latent regression against the reconstruction distance (~0.001-0.1)."""
TRUNCATION_RANGE = (0.5, 1.0)
"""Truncations of the drawn half: from near the style's mean to the full spread."""


def encoder_channels(resolution: int) -> list:
    """Widths of the encoder's stages for a generator of `resolution` px: one stage per
    halving down to 4 px, 32 channels doubling to at most 256 (64 px: [32, 64, 128, 256])."""
    return [min(256, 32 * 2**i) for i in range(int(math.log2(resolution)) - 2)]


class InversionEncoderTask(Task):
    """Trains the inversion encoder of the generator given by --init-from (whose weights
    stay frozen); exports that generator with its encoder (component `generator`)."""

    name = "encoder"
    component = "generator"

    def __init__(self, settings, accelerator, bank):
        super().__init__(settings, accelerator, bank)
        if not settings.init_from:
            raise DataError("training the inversion encoder needs --init-from (an export folder with the generator "
                            "it learns to invert)")
        index, exported = load_export(settings.init_from)
        source = exported.get("generator")
        if source is None:
            raise DataError(f"--init-from {settings.init_from} has no generator to train an inversion encoder for")
        if index["styles"] != bank.styles:
            raise DataError(f"--init-from {settings.init_from} has styles {index['styles']}, the data {bank.styles}")
        resolution = source.config.resolution
        if settings.resolution != resolution:
            raise DataError(f"--init-from {settings.init_from} has a {resolution} px generator; train its encoder at "
                            f"--resolution {resolution}")
        config = dataclasses.replace(source.config, encoder_channels=encoder_channels(resolution))
        self.G = StyleGenerator(config).to(self.device)
        self.G.load_state_dict(source.state_dict(), strict=False)  # everything but the fresh encoder
        set_requires_grad(self.G, False)
        set_requires_grad(self.G.encoder, True)
        self.opt = accelerator.prepare(torch.optim.Adam(self.G.encoder.parameters(), lr=settings.lr_encoder,
                                                        betas=(0.9, 0.99)))
        with torch.no_grad():  # the spread of w, which scales the latent regression
            labels = torch.arange(config.num_styles, device=self.device).repeat(64)
            z = torch.randn(len(labels), config.latent_dim, generator=torch.Generator().manual_seed(0))
            self.w_var = float(self.G.mapping(z.to(self.device), labels).var())
        gen = torch.Generator().manual_seed(1234)
        picks = torch.randint(len(bank), (8,), generator=gen)
        self.sample_images = bank.images[picks]
        self.sample_labels = bank.labels[picks]

    def modules(self):
        return {"G": self.G}

    def generating_modules(self):
        return [self.G]

    def optimizers(self):
        return {"encoder": self.opt.optimizer}

    def _drawn(self, n: int):
        """n images the generator draws, their w+ and labels."""
        G = self.G
        labels = torch.randint(G.config.num_styles, (n,), device=self.device)
        z = torch.randn(n, G.config.latent_dim, device=self.device)
        low, high = TRUNCATION_RANGE
        t = torch.empty(n, 1, device=self.device).uniform_(low, high)
        with torch.no_grad():
            center = G.w_avg[labels]
            ws = G.broadcast(center + t * (G.mapping(z, labels) - center))
            images = G.synthesis(ws)
        return images, ws, labels

    def train_step(self, step: int) -> dict:
        n = self.settings.batch_size
        drawn, ws, drawn_labels = self._drawn(n)
        real, real_labels = self.bank.sample(n)
        images = torch.cat([drawn, real.to(self.device)])
        labels = torch.cat([drawn_labels, real_labels.to(self.device)])

        def loss_fn():
            predicted = self.G.encode(images, labels)
            distance = image_distance(self.G.synthesis(predicted), images)
            latent = F.mse_loss(predicted[:n], ws) / self.w_var
            logs = {"distance_drawn": distance[:n].mean().detach(), "distance_real": distance[n:].mean().detach(),
                    "latent": latent.detach()}
            return distance.mean() + LATENT_WEIGHT * latent, logs

        return self._optimize(self.opt, [self.G.encoder], loss_fn)

    @torch.no_grad()
    def sample_grid(self) -> Image.Image:
        """Fixed training images (top row) and the generator's renders of their encoded w+
        (bottom row): what inversion starts from."""
        images = from_uint8(self.sample_images).to(self.device)
        renders = self.G.synthesis(self.G.encode(images, self.sample_labels.to(self.device)))
        return image_grid(torch.cat([images, renders]).cpu(), columns=len(images))

    def export_modules(self) -> dict:
        return {"generator": self.G}
