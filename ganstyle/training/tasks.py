"""One training iteration of each model family: a discriminator update, then a generator update.

A task owns its networks (trained copies, EMA copies, discriminator) and their optimizers;
the loop (loop.py) owns the loop, the devices and the files. Gradients are averaged
across processes by hand (as StyleGAN2-ADA does) rather than through DDP wrappers, because
R1 needs double backward and each step runs the networks several times.
"""

import copy

import torch
import torch.distributed as dist
from torchvision.utils import make_grid

from .augment import diff_augment
from ..nets.discriminator import DiscriminatorConfig, MultiTaskDiscriminator, stddev_group_size
from ..nets.generator import GeneratorConfig, StyleGenerator
from .losses import (
    cycle_loss,
    d_logistic_loss,
    diversity_loss,
    g_nonsaturating_loss,
    r1_penalty,
    style_reconstruction_loss,
)
from .perceptual import PerceptualLoss
from ..nets.projected import FeatureProjector, ProjectedDiscriminator, ProjectedDiscriminatorConfig
from ..nets.style_classifier import fit_style_classifier
from ..nets.translator import StyleTranslator, TranslatorConfig


def average_gradients(module, world_size: int) -> None:
    """All-reduce the gradients of `module` (one flat buffer) and divide by the process count."""
    if world_size == 1:
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.flatten() for p in params])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for p in params:
        p.grad.copy_(flat[offset:offset + p.numel()].view_as(p))
        offset += p.numel()


@torch.no_grad()
def update_ema(ema, model, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * model for parameters; buffers are copied."""
    for e, m in zip(ema.parameters(), model.parameters()):
        e.lerp_(m, 1 - beta)
    for e, m in zip(ema.buffers(), model.buffers()):
        e.copy_(m)


def set_requires_grad(module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class Task:
    """Shared plumbing: EMA, optimizer steps with gradient accumulation, R1 schedule."""

    name = ""

    def __init__(self, settings, accelerator, bank):
        self.settings = settings
        self.accelerator = accelerator
        self.bank = bank
        self.device = accelerator.device
        self.augment = settings.augment

    def _aug(self, x):
        return diff_augment(x) if self.augment else x

    def _optimize(self, optimizer, modules, loss_fn):
        """Run `loss_fn` on `grad_accum` micro-batches, average gradients, step once."""
        optimizer.zero_grad(set_to_none=True)
        logs = {}
        for _ in range(self.settings.grad_accum):
            with self.accelerator.autocast():
                loss, logs = loss_fn()
            self.accelerator.backward(loss / self.settings.grad_accum)
        for module in modules:
            average_gradients(module, self.accelerator.num_processes)
        optimizer.step()
        return logs

    def ema_beta(self, step: int) -> float:
        """EMA decay for a half-life of `ema_kimg` thousand images, ramped up over the start
        of training (half-life <= 5% of the images seen, as in StyleGAN2-ADA) so the EMA
        copy follows the networks early on instead of lingering at the random init."""
        images = self.settings.batch_size * self.settings.grad_accum * self.accelerator.num_processes
        half_life = min(self.settings.ema_kimg * 1000, images * step * 0.05)
        return 0.5 ** (images / max(half_life, 1e-8))

    def modules(self) -> dict:
        raise NotImplementedError

    def generating_modules(self) -> list:
        """The trained generating network and its EMA copy (what an export holds)."""
        raise NotImplementedError

    def optimizers(self) -> dict:
        raise NotImplementedError

    def export_modules(self) -> dict:
        raise NotImplementedError


class GeneratorTask(Task):
    """Conditional StyleGAN2 training: non-saturating loss, style-mixing regularization, and
    either the multi-task discriminator on pixels with lazy R1 or the projected
    discriminator on frozen EfficientNet-Lite0 features (no R1, as in Projected GAN)."""

    name = "generator"

    def __init__(self, settings, accelerator, bank):
        super().__init__(settings, accelerator, bank)
        num_styles = len(bank.styles)
        self.G = StyleGenerator(GeneratorConfig(resolution=settings.resolution, num_styles=num_styles)).to(self.device)
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
        self.sample_z = torch.randn(per_style * num_styles, self.G.config.z_dim, generator=gen)
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
        z = torch.randn(n, G.config.z_dim, device=self.device)
        w = G.mapping(z, labels)
        G.update_w_avg(w.detach(), labels)
        ws = G.broadcast(w)
        if torch.rand(()) < self.settings.mixing_prob:
            crossover = int(torch.randint(1, G.num_ws, ()))
            w2 = G.mapping(torch.randn_like(z), labels)
            ws = torch.cat([ws[:, :crossover], G.broadcast(w2)[:, crossover:]], dim=1)
        return G.synthesis(ws, noise_mode="random")

    def _labels(self):
        """Styles of a batch, drawn as often as the data has them, arranged so that each
        minibatch-stddev group of the discriminator is one style. With mixed groups the
        spread between styles hides a generator that draws one picture per style; with
        one style per group, the discriminator sees that collapse."""
        n = self.settings.batch_size
        group = stddev_group_size(n)
        return self.bank.labels[torch.randint(len(self.bank), (n // group,))].repeat(group)

    def _judge(self, images, labels):
        """Discriminator logits of augmented images for their styles."""
        images = self._aug(images)
        return self.D(images if self.projector is None else self.projector(images), labels)

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
            real_logits = self._judge(real, labels)
            loss = d_logistic_loss(real_logits, self._judge(fake, labels))
            logs = {"d_loss": loss.detach()}
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
    def sample_grid(self):
        """Fixed seeds (z and noise maps, as inference draws them), one row per style,
        rendered by the EMA generator."""
        images = self.G_ema(self.sample_z.to(self.device), self.sample_labels.to(self.device),
                            noise=[m.to(self.device) for m in self.sample_noise])
        return make_grid(images.clamp(-1, 1).cpu(), nrow=8, normalize=True, value_range=(-1, 1))

    def export_modules(self) -> dict:
        """The components this task contributes to the export folder."""
        return {"generator": self.G_ema}


class TranslatorTask(Task):
    """StarGAN v2 training. Each batch's target style codes come half from the mapping
    network (latent-guided) and half from the style encoder on references (reference-guided).
    Losses: adversarial + R1, style reconstruction, diversity-sensitive (decaying), cycle."""

    name = "translator"

    def __init__(self, settings, accelerator, bank):
        super().__init__(settings, accelerator, bank)
        num_styles = len(bank.styles)
        config = TranslatorConfig(resolution=settings.resolution, num_styles=num_styles)
        self.T = StyleTranslator(config).to(self.device)
        self.D = MultiTaskDiscriminator(
            DiscriminatorConfig(resolution=settings.resolution, num_styles=num_styles)
        ).to(self.device)
        self.T_ema = copy.deepcopy(self.T).eval()
        set_requires_grad(self.T_ema, False)
        lr, betas = settings.lr_translator, (0.0, 0.99)
        groups = [
            {"params": self.T.network.parameters()},
            {"params": self.T.encoder.parameters()},
            {"params": self.T.mapping.parameters(), "lr": lr * 0.01},
        ]
        # No weight decay: with Adam, L2 decay on weights whose gradient is still ~0 (everything
        # behind the zero-initialized last layer at the start) shrinks them by ~lr per step.
        self.opt_T = accelerator.prepare(torch.optim.Adam(groups, lr=lr, betas=betas))
        self.opt_D = accelerator.prepare(torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas))
        self.perceptual = PerceptualLoss().to(self.device) if settings.perceptual else None
        gen = torch.Generator().manual_seed(1234)
        picks = [idx[torch.randint(len(idx), (2,), generator=gen)] for idx in bank.by_style]
        self.sample_content = bank.images[torch.cat(picks)].float() / 127.5 - 1
        self.sample_z = torch.randn(1, config.latent_dim, generator=gen)

    def modules(self):
        return {"T": self.T, "D": self.D, "T_ema": self.T_ema}

    def generating_modules(self):
        return [self.T, self.T_ema]

    def optimizers(self):
        return {"T": self.opt_T.optimizer, "D": self.opt_D.optimizer}

    def _style_codes(self, labels):
        """Target style codes, the first half latent-guided, the second reference-guided, and
        a reference image of each target style (those the second half's codes come from)."""
        n = len(labels)
        half = n // 2
        z = torch.randn(half, self.T.config.latent_dim, device=self.device)
        references = self.bank.sample(n, labels=labels.cpu())[0].to(self.device)
        from_latent = self.T.style_from_latent(z, labels[:half])
        from_reference = self.T.style_from_reference(references[half:], labels[half:])
        return torch.cat([from_latent, from_reference]), references

    def diversity_weight(self, step: int) -> float:
        return self.settings.lambda_ds * max(0.0, 1 - step / max(1, self.settings.ds_decay_steps))

    def train_step(self, step: int) -> dict:
        n, styles = self.settings.batch_size, len(self.bank.styles)
        set_requires_grad(self.T, False)
        set_requires_grad(self.D, True)

        def batch():
            real, labels = self.bank.sample(n)
            target = torch.randint(styles, (n,))
            return real.to(self.device), labels.to(self.device), target.to(self.device)

        def d_loss():
            real, labels, target = batch()
            with torch.no_grad():
                fake = self.T(real, self._style_codes(target)[0])
            real.requires_grad_(True)
            real_logits = self.D(self._aug(real), labels)
            loss = d_logistic_loss(real_logits, self.D(self._aug(fake), target))
            r1 = r1_penalty(real_logits.float(), real)
            return loss + self.settings.translator_r1_gamma / 2 * r1, {"d_loss": loss.detach(), "r1": r1.detach()}

        logs = self._optimize(self.opt_D, [self.D], d_loss)
        set_requires_grad(self.T, True)
        set_requires_grad(self.D, False)
        lambda_ds = self.diversity_weight(step)

        def t_loss():
            real, labels, target = batch()
            style, references = self._style_codes(target)
            fake = self.T(real, style)
            adv = g_nonsaturating_loss(self.D(self._aug(fake), target))
            sty = style_reconstruction_loss(style, self.T.style_from_reference(fake, target))
            with torch.no_grad():
                other = self.T(real, self._style_codes(target)[0])
            ds = diversity_loss(fake, other)
            cyc = cycle_loss(self.T(fake, self.T.style_from_reference(real, labels)), real)
            loss = adv + self.settings.lambda_sty * sty - lambda_ds * ds + self.settings.lambda_cyc * cyc
            logs = {"g_loss": adv.detach(), "style_loss": sty.detach(), "ds_loss": ds.detach(),
                    "cycle_loss": cyc.detach()}
            if self.perceptual is not None:
                content_loss, feature_style_loss = self.perceptual(fake, real, references)
                loss = loss + self.settings.lambda_content * content_loss
                loss = loss + self.settings.lambda_feature_style * feature_style_loss
                logs.update(content_loss=content_loss.detach(), feature_style_loss=feature_style_loss.detach())
            return loss, logs

        logs.update(self._optimize(self.opt_T, [self.T], t_loss))
        update_ema(self.T_ema, self.T, self.ema_beta(step))
        return logs

    @torch.no_grad()
    def sample_grid(self):
        """Fixed content images (rows, two per style) x every style (columns), latent-guided;
        the first column is the content itself."""
        content = self.sample_content.to(self.device)
        styles = len(self.bank.styles)
        columns = [content]
        for label in range(styles):
            labels = torch.full((len(content),), label, device=self.device)
            code = self.T_ema.style_from_latent(self.sample_z.to(self.device).expand(len(content), -1), labels)
            columns.append(self.T_ema(content, code))
        grid = torch.stack(columns, dim=1).flatten(0, 1)
        return make_grid(grid.clamp(-1, 1).cpu(), nrow=styles + 1, normalize=True, value_range=(-1, 1))

    def export_modules(self) -> dict:
        """The EMA translator and a style classifier fitted to it on the training images."""
        return {"translator": self.T_ema,
                "style_classifier": fit_style_classifier(self.T_ema, self.bank.images, self.bank.labels)}


TASKS = {"generator": GeneratorTask, "translator": TranslatorTask}


def min_styles(model: str) -> int:
    return 2 if model in ("translator", "both") else 1

