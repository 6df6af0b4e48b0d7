"""GAN inversion: the current projector against the first version, in the same run.

    python benchmarks/inversion.py                      # shipped model, 5 example images, 2 threads
    python benchmarks/inversion.py --model runs/x/export --images a.jpg b.jpg --threads 1

For each image, both methods run one after the other on the same target (the style read
the same way as `StylePipeline.invert` does): the first version (`first_version_project`
below: one w from the style's mean w, Adam at a constant 0.1, 200 steps, as shipped before)
and `ganstyle.nets.inversion.project` at its defaults (the encoder's start when the
generator has one, w+, warmed-up rate 0.3, at most DEFAULT_STEPS steps with early stopping).
It prints a Markdown table: wall time, steps and reconstruction distance (`image_distance`,
the objective both minimize) of each; the speed-up at the defaults (first version's time over
the current one's) with the distance ratio (current over first version; <= 1 means at least
as close); and the speed-up at equal error: the first version's time over the time the
current projector takes (start included) until its best distance is at most the first
version's final one (read from its per-step callback). Takes ~2 min on 2 idle cores.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ganstyle import StylePipeline  # noqa: E402
from ganstyle.imageio import open_image, pil_to_tensor, resize_crop  # noqa: E402
from ganstyle.nets.inversion import _normalize_, image_distance, noise_autocorrelation, project  # noqa: E402
from ganstyle.storage.hub import DEFAULT_MODEL  # noqa: E402

IMAGES = [ROOT / "examples" / name for name in ("scene-lake.jpg", "scene-hills.jpg", "ref-monet.png",
                                                "photo-cat.jpg", "photo-coffee.jpg")]


FIRST_VERSION_NOISE_REGULARIZATION = 1.0
"""The first version's noise-regularizer weight (the current projector uses 0.1)."""


def first_version_project(generator, target, labels, steps: int = 200, lr: float = 0.1):
    """The projector as first shipped (commit d74cf0b), kept here as the baseline: a single w
    from the style's mean w and the stored noise maps, Adam at a constant rate, fixed steps."""
    with torch.inference_mode(False), torch.enable_grad():
        target = target.clone()
        w = generator.w_avg[labels].clone().requires_grad_(True)
        noise = [m.expand(len(labels), -1, -1, -1).clone().requires_grad_(True) for m in generator.const_noise()]
        optimizer = torch.optim.Adam([w, *noise], lr=lr)
        for _ in range(steps):
            image = generator.synthesis(generator.broadcast(w), noise=noise)
            loss = (image_distance(image, target).sum()
                    + FIRST_VERSION_NOISE_REGULARIZATION * noise_autocorrelation(noise))
            grads = torch.autograd.grad(loss, [w, *noise])
            for tensor, grad in zip([w, *noise], grads):
                tensor.grad = grad
            optimizer.step()
            _normalize_(noise)
        return generator.broadcast(w.detach()), [n.detach() for n in noise]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--images", nargs="+", default=[str(p) for p in IMAGES])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = StylePipeline.from_pretrained(args.model, device="cpu")
    G = pipe.generator
    rows = []
    print(f"model {args.model}, {args.threads} threads, torch {torch.__version__}", flush=True)
    for path in args.images:
        target = pil_to_tensor(resize_crop(open_image(path), pipe.generator_resolution)).unsqueeze(0)
        with torch.no_grad():
            averages = G.synthesis(G.broadcast(G.w_avg))
            labels = image_distance(averages, target.expand_as(averages)).argmin().reshape(1)
        results = {}
        start = time.perf_counter()
        ws, noise = first_version_project(G, target, labels)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            first_distance = float(image_distance(G.synthesis(ws, noise=noise), target))
        results["first version"] = (seconds, 200, first_distance)
        trace = []  # (step, seconds so far, distance at that step)
        start = time.perf_counter()
        ws, noise, _ = project(G, target, labels,
                               callback=lambda step, total, d: trace.append((step, time.perf_counter() - start, d)))
        seconds = time.perf_counter() - start
        with torch.no_grad():
            distance = float(image_distance(G.synthesis(ws, noise=noise), target))
        results["current"] = (seconds, trace[-1][0], distance)
        best, reached = float("inf"), None
        for step, elapsed, d in trace:
            best = min(best, d)
            if best <= first_distance:
                reached = (step, elapsed)
                break
        results["equal error"] = reached
        for name in ("first version", "current"):
            t, n, d = results[name]
            print(f"{Path(path).name:18s} {name:13s} {t:6.1f} s {n:4d} steps distance {d:.5f}", flush=True)
        rows.append((Path(path).name, results))
    print("\n| image | first version: s / steps / distance | current: s / steps / distance | speed-up | "
          "distance ratio | current to the first version's distance: s / steps | speed-up at equal error |\n"
          "|---|---|---|---|---|---|---|")
    equal = []
    for name, r in rows:
        (t0, s0, d0), (t1, s1, d1) = r["first version"], r["current"]
        if r["equal error"] is None:
            reach, ratio = f"not within {s1} steps", "-"
        else:
            step, elapsed = r["equal error"]
            equal.append(t0 / elapsed)
            reach, ratio = f"{elapsed:.1f} / {step}", f"{t0 / elapsed:.2f}x"
        print(f"| {name} | {t0:.1f} / {s0} / {d0:.5f} | {t1:.1f} / {s1} / {d1:.5f} | {t0 / t1:.2f}x | {d1 / d0:.2f} | "
              f"{reach} | {ratio} |")
    speedups = [r["first version"][0] / r["current"][0] for _, r in rows]
    ratios = [r["current"][2] / r["first version"][2] for _, r in rows]
    at_equal = f"{statistics.median(equal):.2f}x ({len(equal)} of {len(rows)} reached)" if equal else "-"
    print(f"| median | | | {statistics.median(speedups):.2f}x | {statistics.median(ratios):.2f} | | {at_equal} |")

if __name__ == "__main__":
    main()
