"""`TrainSettings`: everything that defines a training run."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

MODEL_CHOICES = ("generator", "translator", "both")
GENERATOR_DISCRIMINATORS = ("multitask", "projected")


@dataclass
class TrainSettings:
    """Everything that defines a run; saved in each checkpoint and checked on resume."""

    data: str
    out: str
    model: str = "both"
    resolution: int = 64
    split: str = "all"
    steps: int = 10000
    batch_size: int = 16
    grad_accum: int = 1
    mixed_precision: str = "no"
    seed: Optional[int] = None
    resume: bool = False
    init_from: Optional[str] = None
    checkpoint_every: int = 500
    sample_every: int = 500
    log_every: int = 10
    keep_checkpoints: int = 3
    augment: bool = True
    lr_generator: float = 0.002
    generator_d_channel_base: int = 2048
    generator_discriminator: str = "multitask"
    lr_translator: float = 5e-4
    generator_r1_gamma: float = 0.1
    translator_r1_gamma: float = 1.0
    r1_interval: int = 4
    mixing_prob: float = 0.9
    ema_kimg: float = 5.0
    lambda_sty: float = 1.0
    lambda_ds: float = 1.0
    lambda_cyc: float = 1.0
    perceptual: bool = False
    lambda_content: float = 0.1
    lambda_feature_style: float = 1.0
    ds_decay_steps: int = 20000

    def __post_init__(self):
        if self.model not in MODEL_CHOICES:
            raise ValueError(f"--model must be one of {', '.join(MODEL_CHOICES)}, got {self.model!r}")
        if self.generator_discriminator not in GENERATOR_DISCRIMINATORS:
            raise ValueError(f"--generator-discriminator must be one of {', '.join(GENERATOR_DISCRIMINATORS)}, "
                             f"got {self.generator_discriminator!r}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"--mixed-precision must be no, fp16 or bf16, got {self.mixed_precision!r}")
        for name in ("steps", "batch_size", "grad_accum", "checkpoint_every", "sample_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if Path(self.out).exists() and not Path(self.out).is_dir():
            raise ValueError(f"--out {self.out} is a file; give a folder for the run")
        if self.batch_size < 2 and self.model != "generator":
            raise ValueError("--batch-size must be >= 2 for the translator (latent- and reference-guided halves)")

    @property
    def task_names(self) -> list:
        return ["generator", "translator"] if self.model == "both" else [self.model]
