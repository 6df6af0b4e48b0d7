"""Training throughput: images/s and peak memory of ganstyle's two models, against the
`lightweight-gan` package (PyPI) at the same resolution and batch size, in one run.

    python benchmarks/train_throughput.py                 # 64 and 128 px, batch 16
    python benchmarks/train_throughput.py --quick         # 64 px only
    python benchmarks/train_throughput.py --resolutions 64 --steps 6 --write-results

What one "step" is, on both sides (one discriminator update + one generator update on one
batch of `--batch-size` real images, CPU, float32, no gradient accumulation):

* ganstyle: `GeneratorTask.train_step` / `TranslatorTask.train_step`
  (ganstyle/training/generator_task.py, translator_task.py) with the shipped defaults
  (`TrainSettings`: DiffAugment on, lazy R1 every 4 steps for the generator, R1 every step
  for the translator, EMA update every step), under Accelerate,
  batches drawn from an in-memory `ImageBank` exactly as `ganstyle train` does.
* lightweight-gan: `Trainer.train()` of lightweight_gan 1.2.1, unmodified, with the
  defaults of its `lightweight_gan` command (attention at 32 px, disc_output_size 1,
  DiffAugment cutout+translation at the auto-set probability, gradient penalty every 4
  steps, Adam) except gradient_accumulate_every=1 (its CLI default is 4), so that a step
  is one D and one G update on one batch, as ours. Its code assumes CUDA: the benchmark
  maps `.cuda()` and `torch.device("cuda")` to the CPU and feeds batches from memory
  instead of its DataLoader (no JPEG decoding on either side). Saving, sampling and the
  aim tracker are off (as they are between checkpoints in a real run).

Seconds per step is the mean over one 4-step regularization cycle: both ganstyle's
generator and lightweight-gan regularize (R1 / gradient penalty) every 4th step, so their
timed steps alternate plain and regularized steps and s/step = (3 x median plain + median
regularized) / 4; the translator runs R1 every step (median of its steps). images/s =
batch size / s/step. One warm-up step (plain) per configuration first. Each configuration runs in its own
fresh process (peak RSS = ru_maxrss of that process; also shown minus its RSS right after
its imports), and the timed steps are interleaved across configurations (one step each,
in rotating order), so load from other processes hits all of them alike.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    concurrent_training_note, fmt, machine_note, markdown_table, median, rss_mb, serve, start_workers, update_results,
)

DATASET = Path("/work/shared/datasets/styles")
LWGAN_CLI_DEFAULTS = dict(attn_res_layers=[32], disc_output_size=1, aug_types=["cutout", "translation"],
                          fmap_max=512, latent_dim=256, optimizer="adam", lr=2e-4, antialias=False,
                          dual_contrast_loss=False, freq_chan_attn=False)


# ----------------------------------------------------------------------------- workers
def _setup_ours(spec):
    import torch
    from accelerate import Accelerator

    from ganstyle.data import ImageBank
    from ganstyle.training.tasks import TASKS, min_styles
    from ganstyle.training.loop import TrainSettings

    baseline = rss_mb()
    out = tempfile.mkdtemp(prefix="ganstyle-bench-run-")
    settings = TrainSettings(data=spec["data"], out=out, components=spec["model"], resolution=spec["res"],
                             batch_size=spec["batch"])
    accelerator = Accelerator(cpu=True)
    torch.set_num_threads(spec["threads"])  # Accelerate may reset it
    bank = ImageBank(spec["data"], spec["res"], min_styles(spec["model"]))
    torch.manual_seed(0)
    task = TASKS[spec["model"]](settings, accelerator, bank)
    state = {"task": task, "step": 0}
    for _ in range(spec["warmup"]):
        _step_ours(state, r1=False)
    return state, {"baseline_rss_mb": baseline, "images": len(bank), "styles": len(bank.styles)}


def _next_step(state, r1):
    """The next step number whose regularization phase is `r1` (None: any). Both sides run
    R1 / the gradient penalty when step % 4 == 0; lightweight-gan also renders samples at
    multiples of 100 and resets its EMA copy at step % 1000 == 2, which are skipped."""
    step = state["step"] + 1
    while (r1 is not None and (step % 4 == 0) != r1) or step % 100 == 0 or step % 1000 == 2:
        step += 1
    state["step"] = step
    return step


def _step_ours(state, r1=None):
    import torch

    _next_step(state, r1)
    torch.manual_seed(state["step"])
    t0, c0 = time.perf_counter(), time.process_time()
    state["task"].train_step(state["step"])
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "step": state["step"]}


def _setup_lwgan(spec):
    import numpy as np
    import torch

    real_is_available = torch.cuda.is_available
    torch.cuda.is_available = lambda: True  # lightweight_gan asserts CUDA at import
    try:
        import lightweight_gan
        import lightweight_gan.lightweight_gan as lg
    finally:
        torch.cuda.is_available = real_is_available
    # Run its CUDA-only code on the CPU: .cuda() is a no-op, torch.device("cuda:0") is the CPU.
    torch.nn.Module.cuda = lambda self, device=None: self
    torch.Tensor.cuda = lambda self, *args, **kwargs: self

    class CpuTorch:
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def device(*args, **kwargs):
            return torch.device("cpu")

    lg.torch = CpuTorch()
    baseline = rss_mb()
    images = np.load(spec["images_npy"])  # uint8 (N, 3, R, R), the same images as ours
    trainer = lg.Trainer(name="bench", base_dir=tempfile.mkdtemp(prefix="lwgan-bench-"), image_size=spec["res"],
                         batch_size=spec["batch"], gradient_accumulate_every=1, use_aim=False,
                         save_every=10**9, evaluate_every=10**9, num_workers=0, amp=False, **LWGAN_CLI_DEFAULTS)
    torch.manual_seed(0)
    trainer.init_GAN()
    # What Trainer.set_data_src sets for a dataset of this size (it auto-sets aug_prob).
    trainer.aug_prob = min(0.5, (1e5 - len(images)) * 3e-6)
    data = torch.from_numpy(images)

    def batches():
        while True:  # its ImageDataset yields ToTensor() images in [0, 1]
            yield data[torch.randint(len(data), (spec["batch"],))].float() / 255

    trainer.loader = batches()
    # steps start at 1: step 0 would save a checkpoint and render samples.
    state = {"trainer": trainer, "step": 0}
    for _ in range(spec["warmup"]):
        _step_lwgan(state, r1=False)
    return state, {"baseline_rss_mb": baseline, "version": lightweight_gan.lightweight_gan.__version__,
                   "aug_prob": round(trainer.aug_prob, 3)}


def _step_lwgan(state, r1=None):
    trainer = state["trainer"]
    trainer.steps = step = _next_step(state, r1)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train()  # one D update + one G update (gradient penalty when steps % 4 == 0)
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "step": step}


def worker_main():
    spec = json.loads(sys.argv[sys.argv.index("--worker") + 1])
    if spec["kind"] == "ours":
        serve(_setup_ours, {"step": lambda state, r1=None: _step_ours(state, r1)})
    else:
        serve(_setup_lwgan, {"step": lambda state, r1=None: _step_lwgan(state, r1)})


# ----------------------------------------------------------------------------- parent
def prepare_data(args, resolutions, tmp: Path):
    """A folder of style sub-folders (symlinks to the first images of each style of the real
    dataset, or synthetic PNGs), and the same images decoded at each resolution as .npy."""
    import numpy as np

    from ganstyle.data import ImageBank, find_style_folders

    root = tmp / "data"
    source = Path(args.data) if args.data else DATASET
    if source.is_dir():
        for style, files in find_style_folders(source).items():
            (root / style).mkdir(parents=True)
            for f in files[:args.images_per_style]:
                (root / style / f.name).symlink_to(f.resolve())
        what = f"{source} (first {args.images_per_style} images of each style)"
    else:
        from PIL import Image

        rng = np.random.default_rng(0)
        for s in range(5):
            (root / f"style{s}").mkdir(parents=True)
            for i in range(args.images_per_style):
                low = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(low).resize((256, 256), Image.BICUBIC).save(root / f"style{s}" / f"{i}.png")
        what = f"synthetic smooth-noise images (5 styles x {args.images_per_style}; {source} not found)"
    npys = {}
    for res in resolutions:
        bank = ImageBank(root, res)
        npys[res] = tmp / f"images{res}.npy"
        np.save(npys[res], bank.images.numpy())
    return root, npys, what


def seconds_per_step(samples, lazy: bool, key: str = "seconds"):
    """Mean seconds per step over a 4-step regularization cycle: for models with R1 / the
    gradient penalty every 4th step, (3 x median of the other steps + median of the
    regularized steps) / 4; for the translator (R1 every step), the median.
    `key`: "seconds" (wall clock) or "cpu" (CPU time of the process, all its threads)."""
    if not lazy:
        return median([s[key] for s in samples])
    plain = [s[key] for s in samples if s["step"] % 4]
    regularized = [s[key] for s in samples if s["step"] % 4 == 0]
    if not regularized or not plain:
        return median(plain or regularized)
    return (3 * median(plain) + median(regularized)) / 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=None, help="default 64 128 (--quick: 64)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2,
                        help="timed steps per configuration, alternating plain and regularized (default 2: one each)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per configuration first (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process (default 2 = this machine's cores)")
    parser.add_argument("--models", nargs="+", default=["generator", "translator", "lightweight-gan"])
    parser.add_argument("--lwgan-resolutions", type=int, nargs="+", default=None,
                        help="resolutions lightweight-gan runs at (default: all; one of its steps takes ~50 CPU-s "
                             "at 64 px and ~4x that at 128 px)")
    parser.add_argument("--data", default=None, help=f"dataset root (default {DATASET} if present, else synthetic)")
    parser.add_argument("--images-per-style", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="64 px only")
    parser.add_argument("--write-results", action="store_true", help="replace the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    resolutions = args.resolutions or ([64] if args.quick else [64, 128])
    steps, warmup = args.steps, args.warmup
    started = time.perf_counter()
    concurrent = concurrent_training_note()

    tmp = Path(tempfile.mkdtemp(prefix="ganstyle-train-bench-"))
    root, npys, data_what = prepare_data(args, resolutions, tmp)
    specs = []
    for res in resolutions:
        for model in args.models:
            base = {"res": res, "batch": args.batch_size, "warmup": warmup}
            if model == "lightweight-gan" and args.lwgan_resolutions and res not in args.lwgan_resolutions:
                continue
            if model == "lightweight-gan":
                specs.append({**base, "name": f"lightweight-gan {res}px", "kind": "lwgan", "images_npy": str(npys[res])})
            else:
                specs.append({**base, "name": f"ganstyle {model} {res}px", "kind": "ours", "model": model,
                              "data": str(root)})
    print(f"starting {len(specs)} workers (setup + {warmup} warm-up steps each) ...", file=sys.stderr)
    workers = start_workers(Path(__file__), specs, args.threads, log_dir=tmp / "logs")
    samples = {w.name: [] for w in workers}
    for i in range(steps):
        order = workers[i % len(workers):] + workers[:i % len(workers)]  # rotate who goes first
        for w in order:
            r1 = None if w.spec.get("model") == "translator" else i % 2 == 1  # plain, regularized, ...
            samples[w.name].append(w.request("step", r1=r1))
        print(f"  round {i + 1}/{steps} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    memory = {w.name: w.close() for w in workers}

    rows, summary = [], {}
    for res in resolutions:
        lw = next((w for w in workers if w.spec["kind"] == "lwgan" and w.spec["res"] == res), None)
        lw_wall = seconds_per_step(samples[lw.name], lazy=True) if lw else None
        lw_cpu = seconds_per_step(samples[lw.name], lazy=True, key="cpu") if lw else None
        for w in (w for w in workers if w.spec["res"] == res):
            lazy = w.spec.get("model") != "translator"
            wall, cpu = seconds_per_step(samples[w.name], lazy), seconds_per_step(samples[w.name], lazy, "cpu")
            mem = memory[w.name]
            ratio = lw_wall / wall if lw and w is not lw else None
            cpu_ratio = lw_cpu / cpu if lw and w is not lw else None
            summary[w.name] = {"s_per_step": wall, "images_per_s": args.batch_size / wall, "cpu_s_per_step": cpu,
                               "ratio_vs_lwgan": ratio, "cpu_ratio_vs_lwgan": cpu_ratio, **mem,
                               "samples": samples[w.name]}
            if w is lw:
                versus = "1 (reference)"
            elif ratio:
                versus = f"**{ratio:.1f}x** ({cpu_ratio:.1f}x)"
            else:
                versus = "not run at this size (--lwgan-resolutions)" if lw is None else "n/a"
            rows.append([f"{res}", w.name.rsplit(" ", 1)[0], fmt(wall, 1), fmt(args.batch_size / wall, 2),
                         fmt(cpu, 1), fmt(args.batch_size / cpu, 2),
                         f"{mem['peak_rss_mb']:.0f} ({mem['peak_rss_mb'] - mem['baseline_rss_mb']:+.0f})", versus])
    headers = ["px", "model", "s/step", "images/s", "CPU-s/step", "images per CPU-s",
               "peak RSS MB (minus post-import RSS)", "images/s vs lightweight-gan (CPU-time ratio)"]
    table = markdown_table(headers, rows)
    targets = []
    for res in resolutions:
        ours_res = [(w.name, summary[w.name]["ratio_vs_lwgan"]) for w in workers
                    if w.spec["res"] == res and w.spec["kind"] == "ours"]
        if all(r is not None for _, r in ours_res) and ours_res:
            met = all(r >= 1 for _, r in ours_res)
            worst = min(r for _, r in ours_res)
            targets.append(f"{res} px: at least as many images/s as lightweight-gan -> {'MET' if met else 'NOT MET'} "
                           f"(slowest ganstyle model {worst:.1f}x lightweight-gan's images/s).")
    lw_ready = next((w.ready for w in workers if w.spec["kind"] == "lwgan"), {})
    notes = [
        f"Batch size {args.batch_size}; {steps} timed step(s) per configuration after {warmup} warm-up step(s), "
        "interleaved across configurations (one step each, rotating order); s/step = mean over the 4-step "
        "R1/gradient-penalty cycle, (3 x plain + 1 x regularized step) / 4; the translator has R1 every step.",
        f"Data: {data_what}, in memory on both sides.",
        *(["Only plain (non-regularized) steps were timed (--steps 1): s/step leaves out the amortized R1 / "
           "gradient-penalty step on both sides (ganstyle generator, lightweight-gan); the translator's step "
           "always includes R1."] if steps < 2 else []),
        f"lightweight-gan {lw_ready.get('version', '?')}: Trainer.train() with its CLI defaults "
        f"(attn_res_layers=[32], disc_output_size=1, aug_prob={lw_ready.get('aug_prob', '?')} as auto-set, "
        "GP every 4 steps) but gradient_accumulate_every=1; run on CPU by mapping .cuda() to the CPU.",
        "ganstyle: GeneratorTask/TranslatorTask.train_step with the shipped TrainSettings defaults (DiffAugment, "
        "R1 every 4th step for the generator and every step for the translator; the translator step also runs "
        "the style encoder, mapping network and a cycle pass).",
        "s/step is wall-clock; CPU-s/step is the CPU time of the process (all its threads) over the same steps, "
        "less sensitive to other load on the machine. Ratios > 1: ganstyle trains faster.",
        "Peak RSS: ru_maxrss of a fresh process per configuration (whole process incl. Python, torch and the "
        "library); in brackets minus that process's RSS right after its imports, before any model was built.",
        f"Machine: {machine_note(args.threads)}. Run took {time.perf_counter() - started:.0f} s.",
        f"Concurrent load: {concurrent}.",
    ]
    print()
    print(table)
    print()
    for t in targets:
        print("Target: " + t)
    for n in notes:
        print("- " + n)
    if args.write_results:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        command = " ".join(["python benchmarks/train_throughput.py"] + [a for a in sys.argv[1:] if a != "--write-results"])
        body = (f"Run with `python benchmarks/train_throughput.py [--quick] [--write-results]` after "
                "`pip install --no-deps -r benchmarks/requirements.txt` (lightweight-gan and the modules it imports; "
                "pip never touches torch/torchvision). Latest run: "
                f"`{command}` — {stamp}\n\n{table}\n\n" + "\n".join(f"- **Target:** {t}" for t in targets)
                + "\n\n" + "\n".join("- " + n for n in notes) + "\n")
        update_results("Training throughput", body + _extra_notes())
        print("\nwrote the 'Training throughput' section of benchmarks/RESULTS.md", file=sys.stderr)
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nraw figures: {tmp / 'summary.json'}", file=sys.stderr)


def _extra_notes() -> str:
    """Free text kept in RESULTS.md under the table (set by RESULTS_NOTES_TRAIN env var)."""
    text = os.environ.get("RESULTS_NOTES_TRAIN", "")
    return ("\n" + text.strip() + "\n") if text.strip() else ""


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker_main()
    else:
        random.seed(0)
        main()
