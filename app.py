"""The ganstyle web demo (a Gradio Blocks app; also the Hugging Face Space's entry point).

    python app.py                                  # the checkpoint in checkpoints/
    GANSTYLE_MODEL=user/repo python app.py         # a Hub repo id, or a local export folder

Tests and scripts build the app for a given model with `build_app(model)`. This file only
wires the UI to `ganstyle.StylePipeline`: every image comes from the pipeline. Every event
has an `api_name`, so `gradio_client` can call it; bad input ends in a `gr.Error` message.
"""

import contextlib
import functools
import json
import logging
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr
from PIL import Image, ImageDraw, ImageFont

from ganstyle import StylePipeline
from ganstyle.storage.hub import DEFAULT_MODEL
from ganstyle.storage.model_card import render_model_card
from ganstyle.imageio import open_image
from ganstyle.inference.pipeline import MAX_SIDE

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
log = logging.getLogger("ganstyle.app")

DISPLAY_SIZE = 256
"""Side of generated images in the page (the model renders at its own resolution, e.g. 64 px)."""
GRID_CELL, GRID_GAP = 128, 6
"""Side of one cell of the style-mixing grid, and the gap between the sources and the mixes."""
ANIMATION_SIDE = 512
"""Photos are downscaled to this long side before an interpolation (frames and GIF size).
Transfer keeps the pipeline's own limit (1024 px on the long side)."""
MAX_PIXELS = 40_000_000
"""Largest upload (width x height) the app decodes at all."""
MAX_FILE_SIZE = "20mb"
MAX_COUNT, MAX_VARIANTS, MAX_STEPS, MAX_GRID = 16, 4, 24, 4
QUEUE_SIZE = 32
"""Most requests waiting at once; more get 'queue full' instead of waiting forever."""
CONCURRENCY = int(os.environ.get("GANSTYLE_CONCURRENCY", "1"))
"""Model calls running at once (all events share it): one keeps a 2-core CPU Space responsive."""
ALL_STYLES = "All styles"
TARGET_STYLE, TARGET_REFERENCE = "Named style", "Reference image"
OUTPUT_LIFETIME = 600
"""Seconds our output files are kept (Gradio copies them into its own cache)."""


def _user_errors(action):
    """Turn the pipeline's ValueError/TypeError into a gr.Error with its message, and any other
    failure into a short apology, so the page never shows a stack trace."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except (ValueError, TypeError) as err:
                raise gr.Error(str(err), print_exception=False) from None
            except Exception:
                log.exception("%s failed", action)
                raise gr.Error(f"{action} failed on the server; please try again with other settings.",
                               print_exception=False) from None

        return wrapper

    return decorate


def image_input(label: str, **kwargs) -> gr.Image:
    """An image upload that hands the handler a file path without decoding it, and reports a
    file Pillow cannot even open as a gr.Error (Gradio's own message would be generic). The
    check wraps this one component's preprocess: a gr.Image subclass would make Gradio write
    an app.pyi stub beside this file."""
    component = gr.Image(label=label, type="filepath", image_mode=None, sources=["upload", "clipboard"], **kwargs)
    read = component.preprocess

    def preprocess(payload):
        try:
            return read(payload)
        except gr.Error:
            raise
        except Image.DecompressionBombError:
            raise gr.Error(f"{label}: the image is too large to open safely; downscale it first.",
                           print_exception=False) from None
        except Exception:
            raise gr.Error(f"{label}: the file is not an image that can be read (PNG, JPEG, WebP...).",
                           print_exception=False) from None

    component.preprocess = preprocess
    return component


def load_image(path, name: str, max_side: int = None) -> Image.Image:
    """An uploaded image as RGB, refused when missing or above MAX_PIXELS, downscaled to
    `max_side` on its long side when given."""
    if path is None:
        raise gr.Error(f"Upload a {name} first.", print_exception=False)
    try:
        with Image.open(path) as probe:
            width, height = probe.size
    except Exception:
        width = height = 0  # not readable: open_image below says why
    if width * height > MAX_PIXELS:
        raise gr.Error(f"The {name} is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
                       f"this app accepts up to {MAX_PIXELS / 1e6:.0f} MP. Downscale it first.",
                       print_exception=False)
    image = open_image(path, name=f"The {name}")
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _count(name: str, value, low: int, high: int) -> int:
    if value is None or not low <= value <= high:
        raise gr.Error(f"{name} must be between {low} and {high}, got {value}.", print_exception=False)
    return int(value)


def _seed(value) -> int:
    """A seed from a gr.Number: an empty box picks a random one (shown in the captions)."""
    return random.randrange(2**31) if value is None else int(value)


def parse_seeds(text: str, name: str) -> list:
    try:
        seeds = [int(part) for part in str(text or "").replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise gr.Error(f"{name}: write seeds as whole numbers separated by commas, e.g. 1, 2, 3.",
                       print_exception=False) from None
    _count(f"The number of {name}", len(seeds), 1, MAX_GRID)
    return seeds


def gif_frame(frame: Image.Image) -> Image.Image:
    """A palette version of an RGB frame for the GIF: fast octree palette plus Floyd-Steinberg
    dithering. Pillow's default (median cut, no dithering) takes ~30x longer and bands."""
    palette = frame.quantize(256, method=Image.Quantize.FASTOCTREE)
    return frame.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)


def _caption(image) -> str:
    return f"{image.info.get('style', '')} · seed {image.info['seed']}" if "seed" in image.info else ""


def _label_font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


class StyleApp:
    """The event handlers: each takes the widgets' values and calls the pipeline."""

    def __init__(self, pipe: StylePipeline = None, error: str = None):
        self.pipe = pipe
        self.error = error
        self.tmp = Path(tempfile.mkdtemp(prefix="ganstyle-app-"))
        self._swept = 0.0

    def _pipeline(self) -> StylePipeline:
        if self.pipe is None:
            raise gr.Error(f"No model is loaded. {self.error}", print_exception=False)
        return self.pipe

    def _new_path(self, name: str, suffix: str) -> Path:
        """A fresh output file name. At most once a minute, files older than OUTPUT_LIFETIME
        are removed."""
        now = time.time()
        if now - self._swept > 60:
            self._swept = now
            for old in self.tmp.iterdir():
                with contextlib.suppress(OSError):  # another request may have removed it
                    if old.stat().st_mtime < now - OUTPUT_LIFETIME:
                        old.unlink()
        return self.tmp / f"{name}-{uuid.uuid4().hex[:12]}{suffix}"

    def _file(self, image: Image.Image, name: str = "image", suffix: str = ".png") -> str:
        """`image` written to its own file. Outputs go to Gradio as files, not PIL images:
        Gradio rewrites a PIL output in place under a content-hash name, so two requests with
        the same result (the same photo's 'before', a popular example) could truncate a file
        while a browser downloads it; files are copied in atomically, once."""
        path = self._new_path(name, suffix)
        image.save(path, **({"quality": 90} if suffix == ".webp" else {}))
        return str(path)

    @_user_errors("Generation")
    def generate(self, style, seed, truncation, count, progress=gr.Progress()):
        pipe = self._pipeline()
        count = _count("Count", count, 1, MAX_COUNT)
        styles = pipe.styles if style == ALL_STYLES else [style]
        seed = _seed(seed)
        images = []
        for k, name in enumerate(styles):
            progress(k / len(styles), desc=f"Generating {name}")
            images += pipe.generate(name, n=count, seed=seed, truncation=truncation, size=DISPLAY_SIZE)
        return [(self._file(image, f"{image.info['style']}-{image.info['seed']}"), _caption(image)) for image in images]

    @_user_errors("Style transfer")
    def transfer(self, photo, target, style, reference, strength, preserve_color, seed, variants,
                 progress=gr.Progress()):
        pipe = self._pipeline()
        content = load_image(photo, "photo", max_side=MAX_SIDE)  # the size the result will have
        if target == TARGET_REFERENCE:
            targets = [dict(reference=load_image(reference, "reference image"))]
        else:
            seed = _seed(seed)
            n = _count("Variants", variants, 1, MAX_VARIANTS)
            targets = [dict(style=style, seed=seed + i) for i in range(n)]
        outputs = []
        for i, kwargs in enumerate(targets):
            progress(i / len(targets), desc=f"Painting variant {i + 1} of {len(targets)}")
            outputs += pipe.transfer(content, strength=strength, preserve_color=bool(preserve_color), **kwargs)
        gallery = [(self._file(image, "painted"), _caption(image) or "in the reference's style") for image in outputs]
        return (self._file(content, "before", ".webp"), self._file(outputs[0], "after", ".webp")), gallery

    def compare_variant(self, comparison, evt: gr.SelectData):
        """Show the variant clicked in the gallery in the before/after slider."""
        if not comparison or not evt.value:
            return comparison
        return comparison[0], evt.value["image"]["path"]

    @_user_errors("Interpolation")
    def interpolate(self, start_style, start_seed, start_reference, end_style, end_seed, end_reference, photo,
                    steps, truncation, progress=gr.Progress()):
        pipe = self._pipeline()
        steps = _count("Steps", steps, 2, MAX_STEPS)
        progress(0.1, desc="Rendering frames")
        if photo is None:
            if start_reference or end_reference:
                progress(0.1, desc="Finding the reference images in the generator's latent space")
            start = load_image(start_reference, "start reference") if start_reference else (start_style,
                                                                                          _seed(start_seed))
            end = load_image(end_reference, "end reference") if end_reference else (end_style, _seed(end_seed))
            frames = pipe.interpolate(start, end, steps=steps, truncation=truncation, size=DISPLAY_SIZE)
        else:
            content = load_image(photo, "photo", max_side=ANIMATION_SIDE)
            start = load_image(start_reference, "start reference") if start_reference else start_style
            end = load_image(end_reference, "end reference") if end_reference else end_style
            frames = pipe.interpolate(start, end, steps=steps, seed=_seed(start_seed), image=content)
        progress(0.9, desc="Writing the GIF")
        gif = str(pipe.save_animation([gif_frame(f) for f in frames], self._new_path("interpolation", ".gif"), fps=8))
        return [self._file(frame, f"frame-{i:02d}") for i, frame in enumerate(frames)], gif, gif

    @_user_errors("Style mixing")
    def mix(self, coarse_style, coarse_seeds, fine_style, fine_seeds, crossover, truncation,
            progress=gr.Progress()):
        """A grid: fine sources across the top, coarse sources down the left, mixes inside."""
        pipe = self._pipeline()
        rows = parse_seeds(coarse_seeds, "coarse seeds")
        cols = parse_seeds(fine_seeds, "fine seeds")
        crossover = None if crossover is None else int(crossover)
        cell, edge = GRID_CELL, GRID_CELL + GRID_GAP  # sources sit apart from the mixes
        grid = Image.new("RGB", (edge + len(cols) * cell, edge + len(rows) * cell), "white")
        draw = ImageDraw.Draw(grid)
        font = _label_font()
        draw.text((8, 8), "rows: coarse\n(layout)\n\ncolumns: fine\n(colour, texture)", fill=(60, 60, 60),
                  font=font)
        for j, seed in enumerate(cols):
            grid.paste(pipe.generate(fine_style, n=1, seed=seed, truncation=truncation, size=cell)[0],
                       (edge + j * cell, 0))
        for i, row_seed in enumerate(rows):
            progress(i / len(rows), desc=f"Mixing row {i + 1} of {len(rows)}")
            grid.paste(pipe.generate(coarse_style, n=1, seed=row_seed, truncation=truncation, size=cell)[0],
                       (0, edge + i * cell))
            for j, col_seed in enumerate(cols):
                mixed = pipe.mix((coarse_style, row_seed), (fine_style, col_seed), crossover=crossover,
                                 truncation=truncation, size=cell)
                grid.paste(mixed, (edge + j * cell, edge + i * cell))
        return self._file(grid, "mixing-grid")


def load_pipeline(model):
    """(pipeline, None) or (None, a message saying why no model could be loaded)."""
    if model is None:
        model = os.environ.get("GANSTYLE_MODEL") or DEFAULT_MODEL
    if isinstance(model, StylePipeline):
        return model, None
    if Path(model) == DEFAULT_MODEL and not DEFAULT_MODEL.is_dir():
        return None, (f"The default checkpoint `{DEFAULT_MODEL.relative_to(ROOT)}` is not there yet. "
                      "Set the environment variable `GANSTYLE_MODEL` to an export folder or a Hugging Face "
                      "Hub repo id and restart the app.")
    try:
        return StylePipeline.from_pretrained(model), None
    except (ValueError, TypeError, OSError) as err:
        return None, f"Cannot load `{model}`: {err}"


def _model_name(model, pipe) -> str:
    """The model as the user named it: the argument, $GANSTYLE_MODEL, or the default checkpoint."""
    if isinstance(model, StylePipeline):
        return str(pipe.source or "a StylePipeline")
    if model is None:
        return os.environ.get("GANSTYLE_MODEL") or str(DEFAULT_MODEL.relative_to(ROOT))
    return str(model)


def read_examples() -> dict:
    """The manifest written by examples/make_examples.py, with absolute paths of existing files."""
    try:
        manifest = json.loads((EXAMPLES / "examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"photos": [], "references": []}
    return {kind: [dict(e, path=str(EXAMPLES / e["file"])) for e in manifest.get(kind, [])
                   if (EXAMPLES / e["file"]).is_file()]
            for kind in ("photos", "references")}


def model_card_markdown(pipe: StylePipeline) -> str:
    """The model's card (its README.md, or one rendered from model_index.json) without front
    matter, with headings pushed down a level to sit under the About tab's own."""
    card = pipe.source / "README.md" if pipe.source else None
    if card is not None and card.is_file():
        text = card.read_text(encoding="utf-8")
    else:
        components = [c for c in ("generator", "translator") if getattr(pipe, c) is not None]
        text = render_model_card({**pipe.info, "styles": pipe.styles, "resolution": pipe.resolution,
                                  "components": components})
    if text.startswith("---"):
        text = text.split("---", 2)[2]
    return "\n".join("#" + line if line.startswith("#") else line for line in text.strip().splitlines())


RUN_LOCALLY = """
### Run it yourself

```bash
pip install -r requirements.txt
python app.py                                    # the checkpoint in checkpoints/, on http://127.0.0.1:7860
GANSTYLE_MODEL=user/another-model python app.py  # any ganstyle model on the Hugging Face Hub
GANSTYLE_MODEL=runs/my-run/export python app.py  # or a folder written by `ganstyle train`
```

The same model from Python (`from ganstyle import StylePipeline`) or the command line
(`ganstyle generate --style monet -n 4`). Every action of this page is also an API endpoint:

```python
from gradio_client import Client
client = Client("http://127.0.0.1:7860/")
images = client.predict("All styles", 0, 0.7, 2, api_name="/generate")
```

Repainted photos come back at up to {transfer} px on the long side ({animation} px for
interpolations); uploads above {pixels} megapixels or {size} are refused.
"""


def _run_locally() -> str:
    return RUN_LOCALLY.format(transfer=MAX_SIDE, animation=ANIMATION_SIDE, pixels=MAX_PIXELS // 1_000_000,
                              size=MAX_FILE_SIZE.upper())


def about_markdown(pipe, error, model_name) -> str:
    if pipe is None:
        return f"### No model loaded\n\n{error}\n" + _run_locally()
    abilities = []
    if pipe.generator is not None:
        abilities.append("draws random images of each style (a conditional StyleGAN2 generator), "
                         "interpolates between them and mixes their coarse and fine layers")
    if pipe.translator is not None:
        abilities.append("repaints photos in a style or in the style of a reference image "
                         "(a StarGAN v2 translator)")
    intro = (f"**Model:** `{model_name}`, {pipe.resolution}x{pipe.resolution} px. It "
             + " and ".join(abilities) + ".\n\n"
             f"**Styles:** {', '.join(pipe.styles)}\n\n---\n\n")
    return intro + model_card_markdown(pipe) + "\n\n---\n" + _run_locally()


def _randomize():
    return random.randrange(1_000_000)


def seed_box(api_name: str, label: str = "Seed", value: int = 0, **kwargs) -> gr.Number:
    """A seed field with a 'random' button in its toolbar (event `api_name`)."""
    dice = gr.Button("random", size="sm", variant="secondary")
    box = gr.Number(label=label, value=value, precision=0, minimum=0, buttons=[dice], **kwargs)
    dice.click(_randomize, outputs=box, api_name=api_name, queue=False)
    return box


def build_app(model=None) -> gr.Blocks:
    """The Blocks app for `model`: a StylePipeline, an export folder or Hub repo id, or None
    for $GANSTYLE_MODEL (default: the checkpoint in checkpoints/). A model that cannot be
    loaded gives a page that says why, and whose actions answer with that message."""
    pipe, error = load_pipeline(model)
    handlers = StyleApp(pipe, error)
    styles = pipe.styles if pipe else []
    first = styles[0] if styles else None
    last = styles[-1] if styles else None
    painting = [s for s in styles if s != "photo"] or styles
    has_generator = bool(pipe and pipe.generator is not None)
    has_translator = bool(pipe and pipe.translator is not None)
    num_ws = max(3, pipe.generator.num_ws if has_generator else 8)
    model_name = _model_name(model, pipe)
    examples = read_examples()
    model_events = dict(concurrency_limit=CONCURRENCY, concurrency_id="model")

    with gr.Blocks(title="ganstyle: style-diverse GAN images", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# ganstyle\nRandom images in several styles, photos repainted in a style or in the "
                    "style of a reference image, and smooth walks and mixes between styles, all from one GAN.")
        if pipe is None:
            gr.Markdown(f"> **No model loaded.** {error}", elem_id="model-missing")
        else:
            gr.Markdown(f"Model `{model_name}` · styles: **{', '.join(styles)}** · "
                        f"{pipe.resolution} px (shown at {DISPLAY_SIZE} px)", elem_id="model-line")

        with gr.Tabs():
            # ---------------------------------------------------------------- random generation
            with gr.Tab("Random generation", id="generate"):
                with gr.Row():
                    with gr.Column(scale=1):
                        gen_style = gr.Dropdown([ALL_STYLES, *styles], value=ALL_STYLES, label="Style")
                        gen_seed = seed_box("randomize_generate_seed")
                        gen_trunc = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation",
                                              info="lower: closer to the style's average, fewer artefacts")
                        gen_count = gr.Slider(1, MAX_COUNT, value=4, step=1, label="Count",
                                              info="images per style")
                        gen_button = gr.Button("Generate", variant="primary", interactive=has_generator)
                    with gr.Column(scale=2):
                        gen_gallery = gr.Gallery(label="Generated images", columns=4, format="png", height=560,
                                                 buttons=["download", "download_all", "fullscreen"],
                                                 elem_id="generate-gallery")
                gen_button.click(handlers.generate, [gen_style, gen_seed, gen_trunc, gen_count], gen_gallery,
                                 api_name="generate", **model_events)
                if styles:
                    gr.Examples([[ALL_STYLES, 0, 0.7, 2], [last, 42, 0.5, 8], [first, 7, 1.0, 4]],
                                [gen_style, gen_seed, gen_trunc, gen_count], api_name="example_generate")

            # ---------------------------------------------------------------- style transfer
            with gr.Tab("Style transfer", id="transfer"):
                with gr.Row():
                    with gr.Column(scale=1):
                        tr_photo = image_input("Photo", height=260, elem_id="transfer-photo")
                        tr_target = gr.Radio([TARGET_STYLE, TARGET_REFERENCE], value=TARGET_STYLE, label="Target")
                        tr_style = gr.Dropdown(styles, value=painting[0] if painting else None, label="Style")
                        tr_reference = image_input("Reference image (its style is copied)", height=200,
                                                  visible=False, elem_id="transfer-reference")
                        tr_strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength",
                                                info="0 keeps the photo, 1 is the full style")
                        tr_colors = gr.Checkbox(label="Preserve the photo's colours")
                        tr_seed = seed_box("randomize_transfer_seed")
                        tr_variants = gr.Slider(1, MAX_VARIANTS, value=2, step=1, label="Variants",
                                                info="different seeds of the style")
                        tr_button = gr.Button("Repaint", variant="primary", interactive=has_translator)
                    with gr.Column(scale=2):
                        tr_slider = gr.ImageSlider(label="Before / after", type="filepath", max_height=520,
                                                   elem_id="transfer-slider")
                        tr_gallery = gr.Gallery(label="Variants (click one to compare)", columns=4, format="png",
                                                height=240, object_fit="contain", fit_columns=False,
                                                buttons=["download", "download_all", "fullscreen"],
                                                elem_id="transfer-gallery")
                tr_target.change(lambda t: [gr.update(visible=t == TARGET_STYLE), gr.update(visible=t != TARGET_STYLE),
                                            gr.update(visible=t == TARGET_STYLE), gr.update(visible=t == TARGET_STYLE)],
                                 tr_target, [tr_style, tr_reference, tr_seed, tr_variants],
                                 api_name="transfer_target", queue=False)
                tr_button.click(handlers.transfer, [tr_photo, tr_target, tr_style, tr_reference, tr_strength,
                                                    tr_colors, tr_seed, tr_variants], [tr_slider, tr_gallery],
                                api_name="transfer", **model_events)
                tr_gallery.select(handlers.compare_variant, tr_slider, tr_slider, api_name="compare_variant",
                                  api_visibility="private", queue=False)
                photo_examples = [[e["path"], TARGET_STYLE, painting[i % len(painting)], None, 1.0, False, i, 2]
                                  for i, e in enumerate(examples["photos"])] if painting else []
                if photo_examples and examples["references"]:
                    ref = examples["references"][0]
                    photo_examples.append([photo_examples[0][0], TARGET_REFERENCE, painting[0], ref["path"], 0.8,
                                           False, 0, 1])
                if photo_examples:
                    gr.Examples(photo_examples, [tr_photo, tr_target, tr_style, tr_reference, tr_strength, tr_colors,
                                                 tr_seed, tr_variants], api_name="example_transfer",
                                example_labels=[f"{e[2] if e[1] == TARGET_STYLE else 'reference'}: "
                                                f"{Path(e[0]).stem}" for e in photo_examples])

            # ---------------------------------------------------------------- interpolation and mixing
            with gr.Tab("Interpolation & mixing", id="interpolate"):
                gr.Markdown("### Interpolation\nA walk from one style (and seed) to another. Either end may "
                            "be a reference image instead (the generator's closest image to it). Add a photo to "
                            "walk its repainting instead.")
                with gr.Row():
                    with gr.Column(scale=1):
                        with gr.Row():
                            in_start = gr.Dropdown(styles, value=first, label="Start style", min_width=120)
                            in_start_seed = seed_box("randomize_start_seed", "Start seed", 0, min_width=120)
                        with gr.Row():
                            in_end = gr.Dropdown(styles, value=last, label="End style", min_width=120)
                            in_end_seed = seed_box("randomize_end_seed", "End seed", 1, min_width=120)
                        in_steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps")
                        in_trunc = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation")
                        with gr.Accordion("Photo and reference images (optional)", open=False):
                            in_photo = image_input("Photo to repaint along the walk", height=180)
                            with gr.Row():
                                in_start_ref = image_input("Start reference", height=140,
                                                           elem_id="interpolate-start-ref")
                                in_end_ref = image_input("End reference", height=140, elem_id="interpolate-end-ref")
                        in_button = gr.Button("Interpolate", variant="primary", interactive=pipe is not None)
                    with gr.Column(scale=2):
                        in_gallery = gr.Gallery(label="Frames", columns=8, format="png", height=200,
                                                buttons=["download", "download_all", "fullscreen"],
                                                elem_id="interpolate-gallery")
                        with gr.Row():
                            in_preview = gr.Image(label="Animation", type="filepath", height=260,
                                                  elem_id="interpolate-animation")
                            in_gif = gr.File(label="Download the GIF", elem_id="interpolate-gif")
                in_button.click(handlers.interpolate, [in_start, in_start_seed, in_start_ref, in_end, in_end_seed,
                                                       in_end_ref, in_photo, in_steps, in_trunc],
                                [in_gallery, in_preview, in_gif], api_name="interpolate", **model_events)
                if styles:
                    interp_examples = [[first, 0, None, last, 0, None, None, 12, 0.7],
                                       [last, 3, None, last, 9, None, None, 8, 0.7]]
                    if examples["photos"] and len(painting) > 1:
                        interp_examples.append([painting[0], 0, None, painting[-1], 0, None,
                                                examples["photos"][0]["path"], 8, 0.7])
                    gr.Examples(interp_examples, [in_start, in_start_seed, in_start_ref, in_end, in_end_seed,
                                                  in_end_ref, in_photo, in_steps, in_trunc],
                                api_name="example_interpolate")

                gr.Markdown("### Style mixing\nEach cell takes its layout from its row (coarse layers) and "
                            "its colours and texture from its column (fine layers).")
                with gr.Row():
                    with gr.Column(scale=1):
                        with gr.Row():
                            mx_coarse = gr.Dropdown(styles, value=first, label="Coarse style (rows)")
                            mx_coarse_seeds = gr.Textbox("1, 2, 3", label="Coarse seeds",
                                                         info=f"1 to {MAX_GRID}, comma separated")
                        with gr.Row():
                            mx_fine = gr.Dropdown(styles, value=last, label="Fine style (columns)")
                            mx_fine_seeds = gr.Textbox("4, 5, 6", label="Fine seeds",
                                                       info=f"1 to {MAX_GRID}, comma separated")
                        mx_crossover = gr.Slider(1, num_ws - 1, value=num_ws // 2, step=1,
                                                 label="Crossover layer",
                                                 info="low: only the coarsest layout comes from the rows")
                        mx_trunc = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation")
                        mx_button = gr.Button("Mix", variant="primary", interactive=has_generator)
                    with gr.Column(scale=2):
                        mx_grid = gr.Image(label="Mixing grid", type="filepath", height=520,
                                           elem_id="mix-grid")
                mx_button.click(handlers.mix, [mx_coarse, mx_coarse_seeds, mx_fine, mx_fine_seeds, mx_crossover,
                                               mx_trunc], mx_grid, api_name="mix", **model_events)
                if styles:
                    gr.Examples([[first, "1, 2, 3", last, "4, 5, 6", num_ws // 2, 0.7],
                                 [last, "10, 11", first, "20, 21, 22, 23", max(1, num_ws // 4), 0.7]],
                                [mx_coarse, mx_coarse_seeds, mx_fine, mx_fine_seeds, mx_crossover, mx_trunc],
                                api_name="example_mix")

            # ---------------------------------------------------------------- about
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown(pipe, error, model_name), elem_id="about")

    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


LAUNCH_OPTIONS = dict(max_file_size=MAX_FILE_SIZE, footer_links=["api", "gradio"])
"""Options of `demo.launch` for this app (tests and benchmarks use them too)."""

demo = build_app()

if __name__ == "__main__":
    demo.launch(**LAUNCH_OPTIONS)
