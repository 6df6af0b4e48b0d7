"""The `ganstyle` command line: train, generate, transfer, interpolate, mix, evaluate.

Bad arguments end with exit code 2 and a one-line message, never a traceback.
"""

import argparse
import sys


def _add_train(sub):
    p = sub.add_parser("train", help="train the generator and/or translator on ROOT/<style>/*.jpg")
    p.add_argument("--data", required=True, help="dataset folder with one sub-folder per style")
    p.add_argument("--out", required=True, help="run folder (checkpoints, export, samples, logs)")
    p.add_argument("--model", default="both", choices=["generator", "translator", "both"])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--split", default="all", choices=["all", "train", "val"],
                   help="train on all images, or only the 'train' side of the fixed validation rule")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--mixed-precision", default="no", choices=["no", "fp16", "bf16"])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--sample-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--keep-checkpoints", type=int, default=3)
    p.add_argument("--no-augment", dest="augment", action="store_false", help="turn DiffAugment off")
    p.add_argument("--ds-decay-steps", type=int, default=20000,
                   help="steps over which the translator's diversity weight decays to 0")
    p.set_defaults(run=_run_train)


def _run_train(args):
    from .train import TrainSettings, train

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "run")}
    path = train(TrainSettings(**fields))
    print(f"export written to {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganstyle", description="GAN-based style-diverse image generation")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"ganstyle {args.command}: error: {err}", file=sys.stderr)
        sys.exit(2)
