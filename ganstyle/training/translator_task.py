"""The translator's training step: StarGAN v2 (adversarial, style reconstruction, diversity,
cycle), with optional perceptual losses."""

import copy

import torch
from PIL import Image

from ..imageio import from_uint8
from ..nets.discriminator import DiscriminatorConfig, MultiTaskDiscriminator
from ..nets.style_classifier import fit_style_classifier
from ..nets.translator import StyleTranslator, TranslatorConfig
from .grid import image_grid
from .losses import (
    cycle_loss,
    d_logistic_loss,
    diversity_loss,
    g_nonsaturating_loss,
    r1_penalty,
    style_reconstruction_loss,
)
from .perceptual import PerceptualLoss
from .task import Task, set_requires_grad, update_ema


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
        self.sample_content = from_uint8(bank.images[torch.cat(picks)])
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
        from_reference = self.T.style_code_from_reference(references[half:], labels[half:])
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
            sty = style_reconstruction_loss(style, self.T.style_code_from_reference(fake, target))
            with torch.no_grad():
                other = self.T(real, self._style_codes(target)[0])
            ds = diversity_loss(fake, other)
            cyc = cycle_loss(self.T(fake, self.T.style_code_from_reference(real, labels)), real)
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
    def sample_grid(self) -> Image.Image:
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
        return image_grid(grid.cpu(), columns=styles + 1)

    def export_modules(self) -> dict:
        """The EMA translator and a style classifier fitted to it on the training images."""
        return {"translator": self.T_ema,
                "style_classifier": fit_style_classifier(self.T_ema, self.bank.images, self.bank.labels)}
