"""The generator's training step: conditional StyleGAN2 against a pixel or a projected discriminator."""

import copy

import torch
import torch.nn.functional as F
from PIL import Image

from ..data import DataError
from ..nets.discriminator import DiscriminatorConfig, MultiTaskDiscriminator, stddev_group_size
from ..nets.generator import GeneratorConfig, StyleGenerator
from ..nets.projected import FeatureProjector, ProjectedDiscriminator, ProjectedDiscriminatorConfig
from .grid import image_grid
from .losses import d_logistic_loss, g_nonsaturating_loss, r1_penalty
from .task import Task, mismatched_labels, set_requires_grad, update_ema


class GeneratorTask(Task):
    """Conditional StyleGAN2 training: non-saturating loss, style-mixing regularization, and
    either the multi-task discriminator on pixels with lazy R1 or the projected
    discriminator on frozen EfficientNet-Lite0 features (no R1, as in Projected GAN).
    Both judge each image with its style's head; with `style_mismatch` the heads also learn
    to reject real images of the other styles (a matching-aware discriminator)."""

    name = "generator"
    grows = True  # the layers up to a coarser export's resolution keep their names and shapes

    def __init__(self, settings, accelerator, bank):
        super().__init__(settings, accelerator, bank)
        num_styles = len(bank.styles)
        if settings.style_mismatch > 0 and num_styles < 2:
            raise DataError(f"--style-mismatch needs at least 2 styles to tell apart; {settings.data} has one "
                            f"({bank.styles[0]})")
        self.G = StyleGenerator(GeneratorConfig(resolution=settings.resolution, num_styles=num_styles,
                                                noise_min_resolution=settings.generator_noise_from)).to(self.device)
        self.projector = None
        if settings.generator_discriminator == "projected":
            self.projector = FeatureProjector().to(self.device)
            self.D = ProjectedDiscriminator(ProjectedDiscriminatorConfig(num_styles=num_styles)).to(self.device)
        else:
            # Twice the translator's discriminator width: with the narrow one, generated textures
            # fooled it within a few hundred steps and z stopped mattering (mode collapse).
            self.D = MultiTaskDiscriminator(
                DiscriminatorConfig(resolution=settings.resolution, num_styles=num_styles,
                                    channel_base=settings.generator_d_channel_base)
            ).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval()
        set_requires_grad(self.G_ema, False)
        lr, betas = settings.lr_generator, (0.0, 0.99)
        # Lazy R1 (every r1_interval steps): Adam hyper-parameters corrected as in StyleGAN2.
        ratio = settings.r1_interval / (settings.r1_interval + 1) if self.projector is None else 1.0
        self.opt_G = accelerator.prepare(torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas))
        self.opt_D = accelerator.prepare(
            torch.optim.Adam(self.D.parameters(), lr=lr * ratio, betas=(0.0, 0.99**ratio))
        )
        gen = torch.Generator().manual_seed(1234)
        per_style = 8
        self.sample_z = torch.randn(per_style * num_styles, self.G.config.latent_dim, generator=gen)
        self.sample_noise = self.G.make_noise(len(self.sample_z), generator=gen)
        self.sample_labels = torch.arange(num_styles).repeat_interleave(per_style)
        self.last_r1 = torch.tensor(float("nan"))  # lazy R1: logged as of its latest step

    def modules(self):
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def generating_modules(self):
        return [self.G, self.G_ema]

    def optimizers(self):
        return {"G": self.opt_G.optimizer, "D": self.opt_D.optimizer}

    def _fake(self, labels):
        """Generate with style mixing: with probability `mixing_prob` the layers from a random
        crossover on take w from a second latent, so layers learn to work independently."""
        G, n = self.G, len(labels)
        z = torch.randn(n, G.config.latent_dim, device=self.device)
        w = G.mapping(z, labels)
        G.update_w_avg(w.detach(), labels)
        ws = G.broadcast(w)
        if torch.rand(()) < self.settings.mixing_prob:
            crossover = int(torch.randint(1, G.num_ws, ()))
            w2 = G.mapping(torch.randn_like(z), labels)
            ws = torch.cat([ws[:, :crossover], G.broadcast(w2)[:, crossover:]], dim=1)
        return G.synthesis(ws, noise_mode="random")

    def _labels(self):
        """Styles of a batch, drawn as often as the data has them (or uniformly, with
        `style_sampling` "uniform"), arranged so that each minibatch-stddev group of the
        discriminator is one style. With mixed groups the spread between styles hides a
        generator that draws one picture per style; with one style per group, the
        discriminator sees that collapse."""
        n = self.settings.batch_size
        groups = n // stddev_group_size(n)
        if self.settings.style_sampling == "uniform":
            drawn = torch.randint(len(self.bank.styles), (groups,))
        else:
            drawn = self.bank.labels[torch.randint(len(self.bank), (groups,))]
        return drawn.repeat(n // groups)

    def _features(self, images):
        """What the discriminator sees of images: augmented, then projected (Projected GAN)."""
        images = self._aug(images)
        return images if self.projector is None else self.projector(images)

    def _judge(self, images, labels):
        """Discriminator logits of augmented images for their styles."""
        return self.D(self._features(images), labels)

    def train_step(self, step: int) -> dict:
        set_requires_grad(self.G, False)
        set_requires_grad(self.D, True)
        do_r1 = self.projector is None and step % self.settings.r1_interval == 0

        def d_loss():
            labels = self._labels()
            real = self.bank.sample(len(labels), labels=labels)[0].to(self.device)
            labels = labels.to(self.device)
            with torch.no_grad():
                fake = self._fake(labels)
            real.requires_grad_(do_r1)
            real_features = self._features(real)
            real_logits = self.D(real_features, labels)
            loss = d_logistic_loss(real_logits, self._judge(fake, labels))
            logs = {"d_loss": loss.detach()}
            if self.settings.style_mismatch > 0:
                wrong = mismatched_labels(labels, range(len(self.bank.styles)))
                mismatch = F.softplus(self.D(real_features, wrong)).mean()
                loss = loss + self.settings.style_mismatch * mismatch
                logs["d_mismatch"] = mismatch.detach()
            if do_r1:
                r1 = r1_penalty(real_logits.float(), real)
                loss = loss + self.settings.generator_r1_gamma / 2 * r1 * self.settings.r1_interval
                self.last_r1 = r1.detach()
            return loss, (logs if self.projector is not None else {**logs, "r1": self.last_r1})

        logs = self._optimize(self.opt_D, [self.D], d_loss)
        set_requires_grad(self.G, True)
        set_requires_grad(self.D, False)

        def g_loss():
            labels = self._labels().to(self.device)
            loss = g_nonsaturating_loss(self._judge(self._fake(labels), labels))
            return loss, {"g_loss": loss.detach()}

        logs.update(self._optimize(self.opt_G, [self.G], g_loss))
        update_ema(self.G_ema, self.G, self.ema_beta(step))
        return logs

    @torch.no_grad()
    def sample_grid(self) -> Image.Image:
        """Fixed seeds (z and noise maps, as inference draws them), one row per style,
        rendered by the EMA generator."""
        images = self.G_ema(self.sample_z.to(self.device), self.sample_labels.to(self.device),
                            noise=[m.to(self.device) for m in self.sample_noise])
        return image_grid(images.cpu(), columns=8)

    def export_modules(self) -> dict:
        """The components this task contributes to the export folder."""
        return {"generator": self.G_ema}
