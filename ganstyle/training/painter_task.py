"""The painter's training step: distillation from Magenta's pseudo-pairs plus an adversarial
loss on real paintings (pix2pix-style conditional GAN with a projected discriminator).

Per step, on aligned random crops of (photo, teacher painting) pairs rendered by distill.py:

- L1 and feature loss (frozen EfficientNet-Lite0 blocks) to the teacher's painting: the
  student learns Magenta's repainting, per style vector, in a fraction of the steps an
  unpaired GAN needs. `distill_weights` scales these two losses per style: a painter the
  teacher renders poorly (Cezanne, whose teacher paintings the probes call photos or Van
  Gogh) can learn more from the real paintings instead;
- a non-saturating adversarial loss from a projected discriminator (Sauer et al. 2021)
  that compares the outputs with crops of real paintings of the target style, at the same
  scale: it pushes past the teacher toward each painter. With `style_mismatch` the style's
  head also learns to reject what is not that painter's picture (matching-aware, Reed et al.
  2016): real paintings of another painter and the photos themselves. Magenta's paintings
  of Cezanne still read as photos to the probes; this term makes "still a photo" and "a
  different painter" what the painter is pushed away from. `mismatch_weights` scales it per
  judging head: Monet's paintings are close to the photos, so his head may reject them less;
- the style encoder learns to predict Magenta's vector of a painting (MSE), so a reference
  image's style needs no Magenta at inference.

Real paintings are taken without their outer `FRAME_MARGIN` (the ukiyo-e prints' frames).
"""

import copy
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from ..data import DataError
from ..imageio import from_uint8, open_image, pil_to_uint8
from ..nets.backbones import Lite0Trunk
from ..nets.painter import Painter, PainterConfig
from ..nets.projected import FeatureProjector, ProjectedDiscriminator, ProjectedDiscriminatorConfig
from ..nets.style_classifier import fit_style_classifier
from .distill import FRAME_MARGIN, PAIR_SIZE, inner_crop
from .grid import image_grid
from .losses import d_logistic_loss, g_nonsaturating_loss, weighted_l1, weighted_softplus
from .settings import parse_style_weights
from .task import Task, mismatched_labels, set_requires_grad, update_ema

PAINTING_SIZE = 256
"""Side the real paintings are kept at (the data's native size): discriminator crops and the
style encoder's references come from them."""
FEATURE_TAPS = (1, 3, 7)
"""EfficientNet-Lite0 blocks of the feature loss (strides 2, 4 and 8: strokes to shapes)."""


class PairBank:
    """The pseudo-pairs of `pairs` (photos upscaled to the teacher's size, its paintings,
    their vectors and style labels) and the frame-free training paintings with their
    vectors, all decoded once into memory."""

    def __init__(self, pairs, styles: list, data, show_progress: bool = False):
        pairs = Path(pairs)
        manifest = pairs / "manifest.jsonl"
        if not manifest.is_file():
            raise DataError(f"{manifest} does not exist; render the pairs first: "
                            f"python -m ganstyle.training.distill --data DATA --out {pairs}")
        rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        unknown = sorted({r["style"] for r in rows} - set(styles))
        if unknown:
            raise DataError(f"{manifest} has pairs for styles {unknown} that {data} lacks")
        photos, photo_index = [], {}
        for row in rows:
            photo_index.setdefault(row["photo"], len(photo_index))
        for path in tqdm(photo_index, desc="loading pair photos", disable=not show_progress):
            photos.append(pil_to_uint8(open_image(path).resize((PAIR_SIZE, PAIR_SIZE), Image.LANCZOS)))
        self.photos = torch.stack(photos)
        self.photo_of = torch.tensor([photo_index[r["photo"]] for r in rows])
        self.targets = torch.stack([pil_to_uint8(open_image(r["target"]))
                                    for r in tqdm(rows, desc="loading pair targets", disable=not show_progress)])
        self.vectors = torch.tensor([r["vector"] for r in rows], dtype=torch.float32)
        self.labels = torch.tensor([styles.index(r["style"]) for r in rows])

        stored = np.load(pairs / "vectors.npz")
        paintings, vectors, labels = [], [], []
        for label, style in enumerate(styles):
            if style not in stored:
                continue
            for name, vector in zip(stored[f"{style}__files"], stored[style]):
                image = inner_crop(open_image(Path(data) / style / str(name)), FRAME_MARGIN)
                paintings.append(pil_to_uint8(image.resize((PAINTING_SIZE, PAINTING_SIZE), Image.LANCZOS)))
                vectors.append(torch.from_numpy(vector))
                labels.append(label)
        self.paintings = torch.stack(paintings)
        self.painting_vectors = torch.stack(vectors).float()
        self.painting_labels = torch.tensor(labels)

    def sample_pairs(self, n: int, crop: int):
        """n aligned random crops (photo, teacher painting), flipped together at random, with
        their style vectors and labels."""
        index = torch.randint(len(self.labels), (n,))
        top, left = torch.randint(PAIR_SIZE - crop + 1, (2, n))
        photos, targets = [], []
        for i, t, l in zip(index.tolist(), top.tolist(), left.tolist()):
            photo = self.photos[self.photo_of[i], :, t:t + crop, l:l + crop]
            target = self.targets[i, :, t:t + crop, l:l + crop]
            if torch.rand(()) < 0.5:
                photo, target = photo.flip(-1), target.flip(-1)
            photos.append(photo)
            targets.append(target)
        return (from_uint8(torch.stack(photos)), from_uint8(torch.stack(targets)), self.vectors[index],
                self.labels[index])

    def sample_paintings(self, labels: torch.Tensor, crop: int):
        """A random crop (`crop` px of the `PAINTING_SIZE` painting) of a random painting of each label."""
        out = []
        for label in labels.tolist():
            choices = torch.nonzero(self.painting_labels == label).flatten()
            i = choices[torch.randint(len(choices), ())]
            t, l = torch.randint(PAINTING_SIZE - crop + 1, (2,)).tolist()
            out.append(self.paintings[i, :, t:t + crop, l:l + crop])
        return from_uint8(torch.stack(out))

    def sample_references(self, n: int):
        """n random whole paintings (`PAINTING_SIZE`, flipped at random) and their Magenta vectors."""
        index = torch.randint(len(self.painting_labels), (n,))
        images = from_uint8(self.paintings[index])
        mirrored = torch.rand(n) < 0.5
        images[mirrored] = images[mirrored].flip(-1)
        return images, self.painting_vectors[index]


class FeatureLoss(torch.nn.Module):
    """Mean absolute difference of frozen EfficientNet-Lite0 features at `FEATURE_TAPS`."""

    def __init__(self, input_size: int):
        super().__init__()
        self.trunk = Lite0Trunk(FEATURE_TAPS, input_size)

    def forward(self, output, target, weights):
        """The distance, each image's share scaled by its entry of `weights` (N,)."""
        with torch.no_grad():
            wanted = self.trunk(target)
        return sum(weighted_l1(a, b, weights) for a, b in zip(self.trunk(output), wanted)) / len(wanted)


class PainterTask(Task):
    """Distillation + adversarial training of the painter (component `translator`)."""

    name = "painter"
    component = "translator"

    def __init__(self, settings, accelerator, bank):
        super().__init__(settings, accelerator, bank)
        if not settings.pairs:
            raise DataError("training the painter needs --pairs (a folder rendered by ganstyle.training.distill)")
        self.crop = settings.crop_size
        if self.crop % 8 or not 32 <= self.crop <= PAIR_SIZE:
            raise ValueError(f"--crop-size must be a multiple of 8 in 32-{PAIR_SIZE}, got {self.crop}")
        self.pairs = PairBank(settings.pairs, bank.styles, settings.data, show_progress=accelerator.is_main_process)
        num_styles = len(bank.styles)
        config = PainterConfig(resolution=settings.resolution, num_styles=num_styles,
                               table_size=len(self.pairs.painting_labels))
        self.P = Painter(config).to(self.device)
        self.P.set_style_table(self.pairs.painting_vectors.to(self.device), self.pairs.painting_labels.to(self.device))
        self.P_ema = copy.deepcopy(self.P).eval()
        set_requires_grad(self.P_ema, False)
        self.projector = FeatureProjector(input_size=128).to(self.device)
        self.D = ProjectedDiscriminator(ProjectedDiscriminatorConfig(num_styles=num_styles)).to(self.device)
        self.feature_loss = FeatureLoss(self.crop).to(self.device)
        lr = settings.lr_painter
        self.opt_P = accelerator.prepare(torch.optim.Adam(self.P.parameters(), lr=lr, betas=(0.5, 0.999)))
        self.opt_D = accelerator.prepare(torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999)))
        gen = torch.Generator().manual_seed(1234)
        picks = torch.randint(len(self.pairs.photos), (4,), generator=gen)
        self.sample_content = from_uint8(self.pairs.photos[picks])
        self.painter_labels = sorted(set(self.pairs.painting_labels.tolist()))
        self.distill_weights = self._style_factors(settings.distill_weights, bank.styles, "--distill-weights")
        self.mismatch_weights = self._style_factors(settings.mismatch_weights, bank.styles, "--mismatch-weights")
        if settings.style_mismatch > 0 and len(self.painter_labels) < 2:
            raise DataError(f"--style-mismatch needs paintings of at least 2 styles to tell apart; {settings.pairs} "
                            f"has {[bank.styles[i] for i in self.painter_labels]}")

    def _style_factors(self, text, styles: list, flag: str) -> torch.Tensor:
        """The factor `flag` (its value `text`) gives each painter style's losses (1 unless named),
        indexed by label."""
        named = parse_style_weights(text, flag=flag)
        painters = [styles[i] for i in self.painter_labels]
        unknown = sorted(set(named) - set(painters))
        if unknown:
            raise DataError(f"{flag} names {unknown}, which {self.settings.pairs} has no pairs for "
                            f"(its painter styles: {', '.join(painters)})")
        return torch.tensor([named.get(style, 1.0) for style in styles], device=self.device)

    def modules(self):
        return {"P": self.P, "D": self.D, "P_ema": self.P_ema}

    def generating_modules(self):
        return [self.P, self.P_ema]

    def optimizers(self):
        return {"P": self.opt_P.optimizer, "D": self.opt_D.optimizer}

    def _judge(self, images, labels):
        return self.D(self.projector(self._aug(images)), labels)

    def _real_scale(self) -> int:
        """Crop side of a `PAINTING_SIZE` painting that covers what a training crop covers of a photo
        upscaled to the teacher's size."""
        return round(self.crop * PAINTING_SIZE / PAIR_SIZE)

    def train_step(self, step: int) -> dict:
        n = self.settings.batch_size
        photo, target, vectors, labels = [t.to(self.device) for t in self.pairs.sample_pairs(n, self.crop)]
        set_requires_grad(self.P, False)
        set_requires_grad(self.D, True)

        def d_loss():
            with torch.no_grad():
                fake = self.P.network(photo, vectors)
            real = self.pairs.sample_paintings(labels.cpu(), self._real_scale()).to(self.device)
            real = F.interpolate(real, size=self.crop, mode="bilinear", align_corners=False, antialias=False)
            real_features = self.projector(self._aug(real))
            loss = d_logistic_loss(self.D(real_features, labels), self._judge(fake, labels))
            logs = {"d_loss": loss.detach()}
            if self.settings.style_mismatch > 0:
                wrong = mismatched_labels(labels, self.painter_labels)  # each term weighted by the judging head
                mismatch = weighted_softplus(self.D(real_features, wrong), self.mismatch_weights[wrong])
                photo_as_painting = weighted_softplus(self._judge(photo, labels), self.mismatch_weights[labels])
                loss = loss + self.settings.style_mismatch * (mismatch + photo_as_painting)
                logs.update(d_mismatch=mismatch.detach(), d_photo=photo_as_painting.detach())
            return loss, logs

        logs = self._optimize(self.opt_D, [self.D], d_loss) if self.settings.lambda_adv > 0 else {}
        if step <= self.settings.discriminator_warmup:
            return logs
        set_requires_grad(self.P, True)
        set_requires_grad(self.D, False)

        def p_loss():
            fake = self.P.network(photo, vectors)
            weights = self.distill_weights[labels]
            l1 = weighted_l1(fake, target, weights)
            feature = self.feature_loss(fake, target, weights)
            references, wanted = [t.to(self.device) for t in self.pairs.sample_references(n)]
            encoder = F.mse_loss(self.P.encoder(references), wanted)
            loss = (self.settings.lambda_l1 * l1 + self.settings.lambda_feature * feature
                    + self.settings.lambda_encoder * encoder)
            logs = {"l1": l1.detach(), "feature": feature.detach(), "encoder": encoder.detach()}
            if self.settings.lambda_adv > 0:
                adv = g_nonsaturating_loss(self._judge(fake, labels))
                loss = loss + self.settings.lambda_adv * adv
                logs["g_loss"] = adv.detach()
            return loss, logs

        logs.update(self._optimize(self.opt_P, [self.P], p_loss))
        update_ema(self.P_ema, self.P, self.ema_beta(step))
        return logs

    @torch.no_grad()
    def sample_grid(self) -> Image.Image:
        """Fixed photos (rows) x each painter style at its mean vector (columns); the first
        column is the photo itself."""
        content = self.sample_content.to(self.device)
        columns = [content]
        for label in self.painter_labels:
            code = self.P_ema.style_code(torch.full((len(content),), label, device=self.device))
            columns.append(self.P_ema.translate(content, code))
        grid = torch.stack(columns, dim=1).flatten(0, 1)
        return image_grid(grid.cpu(), columns=len(columns))

    def export_modules(self) -> dict:
        """The EMA painter and a style classifier fitted to its encoder on the training images."""
        return {"translator": self.P_ema,
                "style_classifier": fit_style_classifier(self.P_ema, self.bank.images, self.bank.labels)}
