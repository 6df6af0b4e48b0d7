"""Memory and time of small hostile image files through the Python API and the CLI.

    python benchmarks/bombs.py [--model checkpoints/ganstyle-styles-256] [--timeout 120]

Each case runs in a fresh process that loads the model and warms up with one ordinary
transfer; then the hostile call is timed, and its cost is the growth of the process's peak
resident memory (getrusage) over the warm-up's. One case cannot inflate the next. The files are tiny on disk: a 1 x 131,000 PNG (~600 bytes)
used as a style reference, a 1 x 1,000,000 PNG, and a 13,000 x 13,000 16-bit PNG
(~330 KB, 169 MP) as a content image through `ganstyle transfer`. Prints one row per case:
file size, outcome (the first line of the error, or "ok"), seconds and peak MiB.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from hostile_images import HUGE_16_BIT, MILLION, THIN, png_bytes  # noqa: E402


CHILD = r"""
import json, resource, sys, time
case, model, folder = sys.argv[1], sys.argv[2], sys.argv[3]

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from ganstyle import StylePipeline
from ganstyle.cli import main
pipe = StylePipeline.from_pretrained(model, device="cpu")
content = f"{folder}/photo.png"
pipe.transfer(content, style="monet")  # warm up, so the figures are the hostile file's own cost
before, start = peak(), time.perf_counter()
outcome = "ok"
try:
    if case == "cli":
        try:
            main(["transfer", f"{folder}/big16.png", "--model", model, "--style", "monet", "--out", f"{folder}/out.png"])
        except SystemExit as exit:
            outcome = f"exit {exit.code}"
    elif case == "thin-reference":
        pipe.transfer(content, reference=f"{folder}/thin.png", reference_style="monet")
    elif case == "thin-interpolate":
        pipe.interpolate(f"{folder}/thin.png", f"{folder}/thin.png", steps=2)
    elif case == "thin-million":
        pipe.transfer(content, reference=f"{folder}/million.png", reference_style="monet")
    elif case == "big16-api":
        pipe.transfer(f"{folder}/big16.png", style="monet")
except Exception as err:
    outcome = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else '(empty message)'}"
print(json.dumps({"outcome": outcome[:100], "seconds": time.perf_counter() - start, "peak_mib": peak(),
                  "added_mib": peak() - before}))
"""

CASES = ("thin-reference", "thin-interpolate", "thin-million", "big16-api", "cli")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "ganstyle-styles-256"))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = {"thin.png": png_bytes(**THIN), "million.png": png_bytes(**MILLION),
                 "big16.png": png_bytes(**HUGE_16_BIT), "photo.png": png_bytes(96, 64)}
        for name, data in files.items():
            Path(folder, name).write_bytes(data)
        sizes = {"thin-reference": "thin.png", "thin-interpolate": "thin.png", "thin-million": "million.png",
                 "big16-api": "big16.png", "cli": "big16.png"}
        print(f"{'case':18} {'file':>9} {'seconds':>8} {'peak MiB':>9} {'added MiB':>9}  outcome")
        for case in args.cases:
            try:
                done = subprocess.run([sys.executable, "-c", CHILD, case, args.model, folder], cwd=folder,
                                      capture_output=True, text=True, timeout=args.timeout)
                row = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                row = {"outcome": f"killed after {args.timeout:.0f} s", "seconds": args.timeout,
                       "peak_mib": float("nan"), "added_mib": float("nan")}
            except (ValueError, IndexError):
                row = {"outcome": f"crashed: {done.stderr.strip().splitlines()[-1:]}", "seconds": float("nan"),
                       "peak_mib": float("nan"), "added_mib": float("nan")}
            size = len(files[sizes[case]])
            print(f"{case:18} {size:>8,}B {row['seconds']:8.2f} {row['peak_mib']:9.0f} {row['added_mib']:9.0f}  "
                  f"{row['outcome']}", flush=True)


if __name__ == "__main__":
    main()
