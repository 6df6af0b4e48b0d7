"""`StylePipeline`: the one inference API over an exported ganstyle model.

    >>> from ganstyle import StylePipeline
    >>> pipe = StylePipeline.from_pretrained("checkpoints/ganstyle-styles-256")
    >>> pipe.styles
    ['cezanne', 'monet', 'photo', 'ukiyoe', 'vangogh']
    >>> images = pipe.generate("monet", n=4, seed=0, truncation=0.7)
    >>> painted = pipe.transfer("photo.jpg", style="vangogh", strength=0.8, seed=1)[0]
    >>> frames = pipe.interpolate("monet", "ukiyoe", steps=8, seed=3)
    >>> pipe.save_animation(frames, "monet_to_ukiyoe.gif")

The app, the CLI, the notebook and the tests all go through this class. Every method
returns PIL images and is deterministic: image i of a call with seed s is drawn from seed
s + i, so it is the same whatever the batch size or the order of calls.
"""

import functools
import numbers
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..imageio import IMAGE_EXTENSIONS, ImageError, open_image, pil_to_tensor, resize_crop, tensor_to_pil
from ..nets.inversion import image_distance
from ..storage.hub import resolve_model
from ..storage.model_card import render_model_card
from ..storage.model_folder import INDEX_NAME, load_export, save_export
from .blend import blend_by_lerps, check_blend, format_blend, is_blend
from .media import keep_colors, mixing_grid, save_animation
from .video import VIDEO_SIDE, probe_video, restyle_video

MAX_SIDE = 1024
"""Largest output side: `transfer` downscales larger inputs to it first; the most `size` of
`generate`/`mix`/`interpolate` may ask for."""
MAX_IMAGES = 64
"""Most images one call may return (n, or steps of an interpolation)."""
MAX_GRID_SIDE = 8
"""Most rows or columns of a style-mixing grid (`mix_grid`)."""
MAX_SEED = 2**63 - 1
"""Largest seed (torch generators take 64-bit seeds); seed + n - 1 must not exceed it."""
MAX_INVERSION_STEPS = 1000
"""Most optimization steps `invert` may take (each is one generator pass forward and back)."""


def _seed_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _check_count(name: str, value, low: int = 1, high: int = MAX_IMAGES) -> int:
    """`value` as a Python int; Python and numpy integers are accepted, bools and floats are not."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def _check_fraction(name: str, value) -> float:
    """`value` as a float in [0, 1]; Python and numpy numbers are accepted, NaN is not."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def shorten(value, limit: int = 60) -> str:
    """repr of `value` cut to about `limit` characters, for error messages about user input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _check_device(device) -> torch.device:
    """The torch device to run on (default: cuda when available); refuses unknown names and
    devices this machine does not have."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {shorten(device)}; use cpu, cuda, cuda:1, mps ...") from None
    available = {"cpu": lambda: True, "cuda": torch.cuda.is_available,
                 "mps": lambda: torch.backends.mps.is_available()}.get(device.type, lambda: True)
    if not available() or (device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {device} is not available on this machine; use cpu")
    return device


def _resolve_seed(seed, count: int = 1) -> int:
    """`seed` as a Python int (a random one when None); seeds seed..seed+count-1 must be valid."""
    if seed is None:
        return random.randrange(2**31)
    if (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
            or not 0 <= seed <= MAX_SEED - count + 1):
        raise ValueError(f"seed must be an integer from 0 to {MAX_SEED - count + 1} (2**63 - {count}), "
                         f"got {shorten(seed)}")
    return int(seed)


def _check_size(size):
    """Output side for generation (None: the model's resolution)."""
    return None if size is None else _check_count("size", size, 1, MAX_SIDE)


def _image_name(role: str, value) -> str:
    """How error messages call an input image: its role, and its file name when it has one."""
    return f"{role} {shorten(str(value), 200)}" if isinstance(value, (str, Path)) else role


def _is_image_like(value) -> bool:
    """A reference image rather than a style name: a PIL image, a Path, or a string that names
    an existing file or ends like an image file."""
    return isinstance(value, (Image.Image, Path)) or (isinstance(value, str) and (
        Path(value).suffix.lower() in IMAGE_EXTENSIONS
        or _is_file(value)))


def _is_file(text: str) -> bool:
    """Path(text).is_file(), False for names the OS refuses (too long, NUL bytes)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


class StylePipeline:
    """Random generation, style transfer, interpolation and style mixing from one model folder."""

    def __init__(self, generator=None, translator=None, styles=(), resolution=64, info=None, device=None,
                 source=None, style_classifier=None):
        if generator is None and translator is None:
            raise ValueError("a pipeline needs a generator, a translator, or both")
        self.device = _check_device(device)
        self.generator = generator.to(self.device).eval() if generator is not None else None
        self.translator = translator.to(self.device).eval() if translator is not None else None
        self.styles = list(styles)
        self.resolution = resolution
        self.info = dict(info or {})
        self.source = source
        self.style_classifier = style_classifier.to(self.device).eval() if style_classifier is not None else None
        self.generator_resolution = getattr(getattr(generator, "config", None), "resolution", resolution)
        """Side the generator draws at, and inversion targets are brought to."""
        self.translator_resolution = getattr(getattr(translator, "config", None), "resolution", resolution)
        """Side the translator was trained at: references are read at it."""
        self.work_side = round(translator.work_scale * self.translator_resolution) if translator is not None else None
        """Largest side the translator runs at (its family's `work_scale` x its training
        resolution; see `_translate`). Set it to change it for this pipeline."""

    # ----------------------------------------------------------------- loading and saving
    @classmethod
    def from_pretrained(cls, model, revision=None, device=None, local_files_only=False, cache_dir=None,
                        token=None):
        """Load from a local export folder or a Hugging Face Hub repo id (cached; honours
        HF_HUB_OFFLINE=1). Refuses missing files, unknown format versions and configs that do
        not match their weights, naming the file."""
        folder = resolve_model(model, revision=revision, local_files_only=local_files_only,
                               cache_dir=cache_dir, token=token)
        index, modules = load_export(folder, device="cpu")
        info = {k: v for k, v in index.items() if k not in ("components", "styles", "resolution", "resolutions")}
        return cls(generator=modules.get("generator"), translator=modules.get("translator"),
                   style_classifier=modules.get("style_classifier"), styles=index["styles"],
                   resolution=index["resolution"], info=info, device=device, source=folder)

    def save_pretrained(self, folder) -> Path:
        """Write the model as an export folder (model_index.json, components, README.md model card).
        The folder is replaced as a whole, so it must be new, empty or a ganstyle model folder."""
        folder = Path(folder).expanduser().resolve()
        if folder.exists() and not (folder / INDEX_NAME).is_file() and (not folder.is_dir() or any(folder.iterdir())):
            raise ValueError(f"{folder} exists and is not a ganstyle model folder; save_pretrained replaces the "
                             "whole folder, so give a new or empty one")
        card = self.model_card()  # read first: `folder` may be the source folder itself
        components = self.components
        save_export(folder, self.styles, self.resolution, {k: m.cpu() for k, m in components.items()},
                    extra={k: v for k, v in self.info.items() if not k.startswith("_") and k != "format_version"})
        for module in components.values():
            module.to(self.device)
        (folder / "README.md").write_text(card, encoding="utf-8")
        return folder

    def push_to_hub(self, repo_id: str, private: bool = False, token=None, commit_message="Upload ganstyle model"):
        """Upload the model folder (with its model card) to the Hub repo `repo_id`; returns the commit URL."""
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save_pretrained(Path(tmp) / "model")
            (folder / "README.md").write_text(self.model_card(repo_id), encoding="utf-8")
            return api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=commit_message)

    # ----------------------------------------------------------------- argument checks
    def _label(self, style) -> int:
        if not isinstance(style, str):
            raise TypeError(f"style must be a style name, got {type(style).__name__}")
        if style not in self.styles:
            raise ValueError(f"unknown style {shorten(style)}; this model knows: {', '.join(self.styles)}")
        return self.styles.index(style)

    def _style_entries(self, style, references: bool = False) -> list:
        """A style name or a blend as [(style name or reference image, weight)], weights summing
        to 1; refuses unknown names, and reference images unless `references` (transfer)."""
        if not is_blend(style):
            self._label(style)
            return [(style, 1.0)]

        def check_key(key):
            if references and not (isinstance(key, str) and key in self.styles) and _is_image_like(key):
                return
            if not isinstance(key, str) and not references:
                raise TypeError(f"a blend for generation takes style names, got {type(key).__name__} "
                                "(reference images can be blended in transfer)")
            self._label(key)

        return check_blend(style, check_key)

    def _require(self, component: str):
        module = getattr(self, component)
        if module is None:
            raise ValueError(f"this model has no {component}; it cannot do that (components: "
                             f"{', '.join(self.components)})")
        return module

    # ----------------------------------------------------------------- random generation
    def _latent(self, style, seed: int, truncation: float):
        """The generator's latent of one (style, seed), drawn from the seed, and the style's
        name. The style may be "random" (picked by the seed) or a blend: the weighted average
        of each style's latent from the same seed, through the family's `blend_latents` (see
        blend.py). Truncation pulls it toward the style's average (a blend's: the same average
        of averages), so 0 gives the style's average image whatever the seed."""
        if style == "random":
            style = self.styles[random.Random(seed).randrange(len(self.styles))]
        entries = self._style_entries(style)
        latents = [self.generator.latent(torch.tensor([self._label(name)], device=self.device),
                                         _seed_generator(seed), truncation) for name, _ in entries]
        latent = blend_by_lerps(latents, [weight for _, weight in entries], self.generator.blend_latents)
        return latent, format_blend(entries) if is_blend(style) else style

    @torch.inference_mode()
    def _render(self, latents, size=None):
        """Images of generator latents. One synthesis call per latent: convolution kernels
        pick batch-size dependent algorithms, so batching would change pixels with the batch
        size."""
        return [self._finish(tensor_to_pil(self.generator.synthesize(latent)[0]), size) for latent in latents]

    @staticmethod
    def _finish(image, size):
        if size and size != image.width:
            image = image.resize((size, size), Image.Resampling.LANCZOS)
        return image

    @torch.inference_mode()
    def generate(self, style="random", n: int = 1, seed=None, truncation: float = 1.0, size=None):
        """`n` random images of `style`: a name, "random" for a style picked per seed, or a
        blend of styles such as {"monet": 0.5, "ukiyoe": 0.3, "vangogh": 0.2} (non-negative
        weights, normalized to sum to 1; see blend.py). `truncation` in [0, 1] pulls toward
        the style's average (less variety, fewer artefacts). `size` (1-1024) resizes the square
        output (default: the model's resolution). Each image carries its seed and style (a
        blend as "monet=0.5,ukiyoe=0.3,vangogh=0.2") in `image.info`."""
        self._require("generator")
        n = _check_count("n", n)
        truncation = _check_fraction("truncation", truncation)
        size = _check_size(size)
        if style != "random":
            self._style_entries(style)
        seed = _resolve_seed(seed, n)
        latents, names = zip(*(self._latent(style, seed + i, truncation) for i in range(n)))
        images = self._render(latents, size)
        for i, (image, name) in enumerate(zip(images, names)):
            image.info.update(seed=seed + i, style=name)
        return images

    @torch.inference_mode()
    def mix(self, coarse, fine, crossover: int = None, truncation: float = 1.0, size=None):
        """Style mixing: layers before `crossover` take the latent of `coarse` (layout,
        shapes), the rest that of `fine` (colours, texture). `coarse`/`fine` are (style, seed)
        pairs; `crossover` is between 1 and the generator's mix_layers - 1 (default: the middle)."""
        G = self._require("generator")
        layers = G.mix_layers
        crossover = layers // 2 if crossover is None else _check_count("crossover", crossover, 1, layers - 1)
        truncation = _check_fraction("truncation", truncation)
        size = _check_size(size)
        (style_a, seed_a), (style_b, seed_b) = self._pair(coarse), self._pair(fine)
        (coarse_latent, _), (fine_latent, _) = self._latent(style_a, seed_a, truncation), self._latent(style_b, seed_b,
                                                                                                        truncation)
        return self._render([G.mix_latents(coarse_latent, fine_latent, crossover)], size)[0]

    @torch.inference_mode()
    def invert(self, image, style=None, steps: int = None, callback=None):
        """The generator latent (for StyleGAN2: w+ (1, num_ws, w_dim), one w per synthesis
        layer, and its noise maps) whose image looks most like `image` (path or PIL), found by
        optimization (GAN inversion: at most `steps` generator passes forward and back,
        default the family's, 90 for StyleGAN2; fewer when the distance stops falling; about
        5-7 s for the shipped 128 px model on 2 idle CPU cores). Its style is `style` when
        given, otherwise the one whose average image is closest. `callback(step, steps,
        distance)` is called after every step. The generator only reaches images like its
        training data: other pictures come out as the nearest thing it can draw."""
        G = self._require("generator")
        steps = G.inversion_steps if steps is None else _check_count("steps", steps, 1, MAX_INVERSION_STEPS)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        picture = open_image(image, name=_image_name("the image to invert", image))
        target = pil_to_tensor(resize_crop(picture, self.generator_resolution)).unsqueeze(0).to(self.device)
        if style is None:
            averages = G.synthesize(G.average_latent(torch.arange(len(self.styles), device=self.device)))
            label = int(image_distance(averages, target.expand_as(averages)).argmin())
        else:
            label = self._label(style)
        return G.invert(target, torch.tensor([label], device=self.device), steps=steps, callback=callback)

    def _pair(self, value):
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise TypeError(f"expected a (style, seed) pair, got {shorten(value)}")
        style, seed = value
        if style != "random":
            self._label(style)
        return style, _resolve_seed(seed)

    # ----------------------------------------------------------------- style transfer
    def _content_tensor(self, image):
        """The content image as a (1, 3, H, W) tensor at most MAX_SIDE on the long side."""
        name = _image_name("the content image", image)
        image = open_image(image, name=name)
        original = image.size
        if max(image.size) > MAX_SIDE:
            scale = MAX_SIDE / max(image.size)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.Resampling.LANCZOS)
        if min(image.size) < 8:
            shown = f"{original[0]}x{original[1]}" + (f", {image.width}x{image.height} once downscaled to "
                                                       f"{MAX_SIDE} px" if image.size != original else "")
            raise ImageError(f"{name} is too small ({shown}); need at least 8 px on each side")
        return image, pil_to_tensor(image).unsqueeze(0).to(self.device)

    def _reference_code(self, reference, style=None):
        """Style code of a reference image. Its style (when the translator needs it) is
        `style` when given, otherwise the one the style classifier reads from it."""
        T = self.translator
        ref = open_image(reference, name=_image_name("the reference image", reference))
        x = pil_to_tensor(resize_crop(ref, self.translator_resolution)).unsqueeze(0).to(self.device)
        if style is not None:
            label = torch.tensor([self._label(style)], device=self.device)
        else:
            label = torch.tensor([self._detect_label(x)], device=self.device) if T.reference_needs_style else None
        return T.style_code_from_reference(x, label)

    def detect_style(self, reference) -> str:
        """Name of the style (one of `styles`) a reference image (path, PIL image, bytes or
        array) most likely belongs to, read by the model's style classifier from the style
        encoder's features. Refuses (ValueError) a model without a style classifier."""
        return self.styles[self._detect_label(reference)]

    @torch.inference_mode()
    def _detect_label(self, reference) -> int:
        """Index in `styles` of the style `detect_style` names (a tensor is taken as is)."""
        if self.style_classifier is None:
            raise ValueError("this model has no style classifier (it was exported before ganstyle had one), so it "
                             "cannot tell a reference's style: name it with reference_style= (--reference-style)")
        if not torch.is_tensor(reference):
            reference = open_image(reference, name=_image_name("the reference image", reference))
            reference = pil_to_tensor(resize_crop(reference, self.translator_resolution)).unsqueeze(0)
        features = self.translator.reference_features(reference.to(self.device))
        return int(self.style_classifier(features).argmax(1)[0])

    @torch.inference_mode()
    def _translate(self, content, code, paint_side=None):
        """Translate content of any size. Content larger than `paint_side` (default
        `work_side`) is translated at that size, so the style looks as it did in training
        whatever the picture's size, and brought back up: for families that keep the photo's
        detail (`keeps_photo_detail`) the change it makes is upsampled and added to the
        full-size content; otherwise (the painter) the translation itself is upsampled, as
        Magenta's network does."""
        _, _, h, w = content.shape
        scale = (paint_side or self.work_side) / max(h, w)
        if scale >= 1:
            return self.translator.translate(content, code)
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        small = F.interpolate(content, size=size, mode="bilinear", antialias=True, align_corners=False)
        out = self.translator.translate(small, code)
        if not self.translator.keeps_photo_detail:
            return F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(-1, 1)
        return content + F.interpolate(out - small, size=(h, w), mode="bicubic", align_corners=False)

    @torch.inference_mode()
    def transfer(self, image, style=None, reference=None, strength: float = 1.0, seed=None,
                 preserve_color: bool = False, n: int = 1, reference_style=None, paint_side: int = None):
        """Repaint `image` (path, PIL image, bytes or array; any size and mode) in a style.

        Target: `style` (a name; `n` diverse variants from seeds seed..seed+n-1) or
        `reference` (an image whose style is copied; its style is detected unless
        `reference_style` names it). `style` may also be a blend of style names and reference
        image files, e.g. {"monet": 0.5, "ukiyoe": 0.3, "painting.jpg": 0.2}: the weighted
        average of their style codes (weights normalized to sum to 1; see blend.py). `strength` in [0, 1] blends from the content (0) to the
        full style (1); `preserve_color` keeps the content's colours and takes only the
        style's light and texture. Outputs keep the input's size and aspect ratio, downscaled
        to at most MAX_SIDE (1024) on the long side. `paint_side` (8 to MAX_SIDE) is the brush
        size: a picture larger than it is painted at that long side and enlarged (default
        `work_side`, 384 px for the default painter); smaller gives broader strokes and less
        of the photo, larger finer strokes and more of it."""
        strength = _check_fraction("strength", strength)
        n = _check_count("n", n)
        if paint_side is not None:
            paint_side = _check_count("paint_side", paint_side, 8, MAX_SIDE)
        entries, seed, name = self._check_target(style, reference, seed, n)
        content_image, content = self._content_tensor(image)
        codes = self._target_codes(entries, reference, reference_style, seed, n)
        outputs = []
        for i, code in enumerate(codes):
            result = self._paint(content_image, content, code, strength, preserve_color, paint_side)
            if entries is not None:
                result.info.update(seed=seed + i, style=name)
            outputs.append(result)
        return outputs

    @torch.inference_mode()
    def transfer_video(self, video, out, style=None, reference=None, strength: float = 1.0, seed=None,
                       preserve_color: bool = False, reference_style=None, max_side: int = VIDEO_SIDE,
                       callback=None) -> Path:
        """Repaint every frame of a short clip (a video file) and write it to `out` (.mp4, H.264)
        with the clip's audio and frame timing; returns `out`. Needs PyAV (`pip install av`).

        The target is as for `transfer` (a style name or blend from `seed`, or a reference),
        turned into one style code that paints every frame, so the style does not change from
        frame to frame. Frames are downscaled to `max_side` (16-1024, default 512) on the long
        side. Clips over the limits of video.py (10 s, 300 frames, 1920 px, 50 MB) are refused
        before any frame is decoded. `callback(done, total)` is called after every frame."""
        strength = _check_fraction("strength", strength)
        max_side = _check_count("max_side", max_side, 16, MAX_SIDE)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        entries, seed, _ = self._check_target(style, reference, seed, 1)
        probe_video(video)  # the clip's limits, before a reference is read or a frame decoded
        code = self._target_codes(entries, reference, reference_style, seed, 1)[0]

        def paint(frame):
            image, content = self._content_tensor(frame)
            return self._paint(image, content, code, strength, preserve_color)

        return restyle_video(video, out, paint, max_side=max_side, callback=callback)

    def _check_target(self, style, reference, seed, n: int):
        """A transfer target checked before any image is read: (blend entries, the first seed,
        the style's name as captions show it), or (None, None, None) for a reference."""
        self._require("translator")
        if (style is None) == (reference is None):
            raise ValueError("give either style= (a style name) or reference= (an image), not both or neither")
        if style is None:
            return None, None, None
        entries = self._style_entries(style, references=True)
        return entries, _resolve_seed(seed, n), format_blend(entries) if is_blend(style) else style

    def _target_codes(self, entries, reference, reference_style, seed, n: int):
        """The n style codes of a target from `_check_target`: those of seeds seed..seed+n-1
        (a blend: the weighted average of its entries' codes, through the family's
        `blend_style_codes`), or n times the reference's code."""
        if entries is None:
            return [self._reference_code(reference, reference_style)] * n
        T = self.translator
        references = {key: self._reference_code(key) for key, _ in entries
                      if not (isinstance(key, str) and key in self.styles)}
        codes = []
        for i in range(n):
            parts = [references[key] if key in references else
                     T.style_code(torch.tensor([self._label(key)], device=self.device), _seed_generator(seed + i))
                     for key, _ in entries]
            codes.append(parts[0] if len(parts) == 1 else T.blend_style_codes(parts, [w for _, w in entries]))
        return codes

    def _paint(self, content_image, content, code, strength: float, preserve_color: bool,
               paint_side=None) -> Image.Image:
        """`content` (its PIL image and (1, 3, H, W) tensor) translated with style `code`, at
        up to `paint_side` (default `work_side`)."""
        out = self._translate(content, code, paint_side)
        result = tensor_to_pil((content + strength * (out - content))[0])
        return keep_colors(content_image, result) if preserve_color else result

    # ----------------------------------------------------------------- interpolation
    @torch.inference_mode()
    def interpolate(self, start, end, steps: int = 8, seed=None, truncation: float = 1.0, image=None,
                    size=None, callback=None):
        """Frames blending from `start` to `end` in `steps` (2-64) steps.

        Without `image` (generation, in w space): `start`/`end` are style names or blends
        (both drawn from the same `seed`), (style, seed) pairs, or images (found by `invert`;
        `callback(done, total)` follows its steps over both ends, the slow part).
        With a content `image` (transfer, in style-code space): `start`/`end` are style
        names or reference images."""
        steps = _check_count("steps", steps, 2, MAX_IMAGES)
        size = _check_size(size)
        seed = _resolve_seed(seed)
        weights = torch.linspace(0, 1, steps).tolist()
        if image is None:
            G = self._require("generator")
            truncation = _check_fraction("truncation", truncation)
            if callback is not None and not callable(callback):
                raise TypeError(f"callback must be callable, got {type(callback).__name__}")
            total = G.inversion_steps * sum(_is_image_like(value) for value in (start, end))
            ends, done = [], 0
            for value in (start, end):
                if _is_image_like(value):
                    report = None if callback is None else functools.partial(_report_inversion, callback, done, total)
                    ends.append(self.invert(value, callback=report))
                    done += G.inversion_steps
                    if callback is not None:
                        callback(done, total)  # the search may have stopped early
                    continue
                style, s = self._pair(value) if isinstance(value, (tuple, list)) else (value, seed)
                if style != "random":
                    self._style_entries(style)
                ends.append(self._latent(style, s, truncation)[0])
            return self._render([G.blend_latents(*ends, t) for t in weights], size)
        T = self._require("translator")
        _, content = self._content_tensor(image)
        codes = []
        for value in (start, end):
            if _is_image_like(value) or not isinstance(value, str):
                codes.append(self._reference_code(value))
            else:
                codes.append(T.style_code(torch.tensor([self._label(value)], device=self.device),
                                          _seed_generator(seed)))
        return [tensor_to_pil(self._translate(content, T.blend_style_codes(codes, [1 - t, t]))[0])
                for t in weights]

    save_animation = staticmethod(save_animation)

    @torch.inference_mode()
    def mix_grid(self, coarse_style, coarse_seeds, fine_style, fine_seeds, crossover: int = None,
                 truncation: float = 1.0, size: int = 128, gap: int = 6) -> Image.Image:
        """One image of style mixing: images of `fine_style` for each of `fine_seeds` across
        the top, of `coarse_style` for each of `coarse_seeds` down the left, and inside, each
        row's layout with each column's colours and texture (`mix`), every cell `size` px."""
        for name, seeds in (("coarse_seeds", coarse_seeds), ("fine_seeds", fine_seeds)):
            if not isinstance(seeds, (list, tuple)):
                raise TypeError(f"{name} must be a list of seeds, got {type(seeds).__name__}")
            _check_count(f"the number of {name}", len(seeds), 1, MAX_GRID_SIDE)
        rows = [self.generate(coarse_style, seed=s, truncation=truncation, size=size)[0] for s in coarse_seeds]
        columns = [self.generate(fine_style, seed=s, truncation=truncation, size=size)[0] for s in fine_seeds]
        cells = [[self.mix((coarse_style, r), (fine_style, c), crossover=crossover, truncation=truncation, size=size)
                  for c in fine_seeds] for r in coarse_seeds]
        return mixing_grid(rows, columns, cells, gap)

    @property
    def components(self) -> dict:
        """The model's networks by component name (generator, translator, style_classifier),
        those it has."""
        return {name: module for name, module in (("generator", self.generator), ("translator", self.translator),
                                                  ("style_classifier", self.style_classifier)) if module is not None}

    def model_card(self, repo_id: str = None) -> str:
        """The model card: the README.md of the folder the model came from, or one rendered
        from its model_index.json fields (naming `repo_id` when given)."""
        card = self.source / "README.md" if self.source else None
        if card is not None and card.is_file():
            return card.read_text(encoding="utf-8")
        return render_model_card({**self.info, "styles": self.styles, "resolution": self.resolution,
                                  "components": list(self.components)}, repo_id)

    def __repr__(self):
        return (f"StylePipeline(styles={self.styles}, resolution={self.resolution}, "
                f"components={list(self.components)}, device={self.device})")


def _report_inversion(callback, done: int, total: int, step: int, steps: int, distance: float) -> None:
    """An inversion's step as progress over all the inversions of one call."""
    callback(done + step, total)
