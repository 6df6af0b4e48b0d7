"""What every training task shares: EMA, gradient accumulation and averaging across processes.

A task is one model family's training step (`generator_task.py`, `translator_task.py`): it
owns its networks (trained copies, EMA copies, discriminator) and their optimizers; the loop
(loop.py) owns the steps, the devices and the files. Gradients are averaged across processes
by hand (as StyleGAN2-ADA does) rather than through DDP wrappers, because R1 needs double
backward and each step runs the networks several times.
"""

import torch
import torch.distributed as dist

from .augment import diff_augment


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


def mismatched_labels(labels: torch.Tensor, styles) -> torch.Tensor:
    """Every label (one of `styles`) moved to another of `styles` by one offset for the whole
    batch: the matching-aware discriminator term's "real image, wrong style" (a group of one
    style stays one style)."""
    styles = torch.as_tensor(list(styles), device=labels.device)
    position = (labels.unsqueeze(1) == styles).int().argmax(1)
    offset = int(torch.randint(1, len(styles), ()))
    return styles[(position + offset) % len(styles)]


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
    grows = False
    """Whether --init-from may start this task from an export of a lower resolution (the
    coarse layers copied, the finer ones fresh: progressive growing)."""

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
