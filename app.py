"""The ganstyle web demo (a Gradio Blocks app; also the Hugging Face Space's entry point).

    python app.py                                  # the default model: from the Hub, else checkpoints/
    GANSTYLE_MODEL=user/repo python app.py         # a Hub repo id, or a local export folder

Wiring only: every image comes from `ganstyle.StylePipeline`, which also checks every value.
Each tab is one small builder (`TABS`: add a function there for a new tab); `StyleApp` holds
the event handlers. Every event has an `api_name`, so `gradio_client` can call it; bad input
ends in a `gr.Error` message. Importing this module loads no model: `build_app(model)` builds
the page for a model, and `demo` (what Hugging Face Spaces and `gradio app.py` look for) is
built on first access.
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
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from PIL import Image

from app_guard import (
    MAX_UPLOAD_BYTES,
    guard_choice,
    guard_image_input,
    guard_whole_number,
    limit_waiting_per_client,
    output_folder,
    release_memory,
)
from ganstyle import StylePipeline
from ganstyle.imageio import MAX_PIXELS, open_image
from ganstyle.inference.pipeline import MAX_SIDE
from ganstyle.inference.video import MAX_VIDEO_FRAMES, MAX_VIDEO_INPUT_SIDE, MAX_VIDEO_SECONDS, VIDEO_SIDE
from ganstyle.storage.hub import DEFAULT_MODEL, SHIPPED_MODEL, default_model
from ganstyle.storage.model_card import split_card

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
log = logging.getLogger("ganstyle.app")

DISPLAY_SIZE = 256
"""Side of generated images in the page (the model renders at its own resolution: 128 px for the
default model)."""
GRID_CELL, GRID_GAP = 128, 6
"""Side of one cell of the style-mixing grid, and the gap between the sources and the mixes."""
ANIMATION_SIDE = 512
"""Photos are downscaled to this long side before an interpolation (frames and GIF size).
Transfer keeps the pipeline's own limit (1024 px on the long side)."""
MAX_FILE_SIZE = f"{MAX_UPLOAD_BYTES // 2**20}mb"
MAX_COUNT, MAX_VARIANTS, MAX_STEPS, MAX_GRID = 16, 4, 24, 4
"""Upper ends of the page's sliders (and of the mixing grid's seed lists): what a shared CPU answers quickly."""
QUEUE_SIZE = 32
"""Most requests waiting at once; more get 'queue full' instead of waiting forever."""
CONCURRENCY = int(os.environ.get("GANSTYLE_CONCURRENCY", "1"))
"""Model calls running at once (all events share it): one keeps a 2-core CPU Space responsive."""
ALL_STYLES = "All styles"
BLEND = "Blend of styles"
TARGET_STYLE, TARGET_REFERENCE, TARGET_BLEND = "Named style", "Reference image", BLEND
BRUSHES = {"Broad": 2 / 3, "Medium": 1.0, "Fine": 4 / 3}
"""Brush sizes of the transfer tab: the side a photo is painted at, as a multiple of the
model's working side (the default painter: 256, 384 and 512 px). Broader strokes show less
of the photo, finer ones more of it (the model card measures the trade)."""
IMAGE_SOURCES = ["upload", "webcam", "clipboard"]
"""Where a photo or reference can come from: a file, the camera, or a pasted image."""
EXAMPLE_CACHE = Path(os.environ.setdefault("GRADIO_EXAMPLES_CACHE", tempfile.mkdtemp(prefix="ganstyle-examples-")))
"""Examples run once at start-up (Gradio's eager caching) into a folder of this process: a
cache from an earlier run, perhaps of another model, is never shown."""
CACHED = dict(cache_examples=True, cache_mode="eager")
"""Examples run once when the app starts: one click shows the result at once."""
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
            finally:
                release_memory()  # heavy requests otherwise leave the process at ~2x its idle size

        return wrapper

    return decorate


def image_input(folder: Path, label: str, **kwargs) -> gr.Image:
    """An image upload (a file, the camera or the clipboard) that hands the handler a file path
    without decoding it. Every image is checked before Gradio reads it, however it arrives
    (app_guard.guard_image_input); `data:` URLs become files in `folder`."""
    component = gr.Image(label=label, type="filepath", image_mode=None, sources=IMAGE_SOURCES, **kwargs)
    return guard_image_input(component, label, folder)


def load_image(path, name: str, max_side: int = None) -> Image.Image:
    """An uploaded image as RGB (refused when missing or above MAX_PIXELS), downscaled to
    `max_side` on its long side when given."""
    if path is None:
        raise gr.Error(f"Upload a {name} first.", print_exception=False)
    image = open_image(path, name=f"The {name}", max_pixels=MAX_PIXELS)
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def parse_seeds(text: str, name: str) -> list:
    """Seeds typed as whole numbers separated by commas, 1 to MAX_GRID of them."""
    try:
        seeds = [int(part) for part in str(text or "").replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise gr.Error(f"{name}: write seeds as whole numbers separated by commas, e.g. 1, 2, 3.",
                       print_exception=False) from None
    if not 1 <= len(seeds) <= MAX_GRID:
        raise gr.Error(f"The number of {name} must be between 1 and {MAX_GRID}, got {len(seeds)}.",
                       print_exception=False)
    return seeds


def _whole(value):
    """A slider's whole number as an int (a web client may send 4.0); anything else as it is,
    for the pipeline to judge."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def blend_weights(styles, weights) -> dict:
    """The blend of the style sliders: {style: weight} of the styles above 0."""
    blend = {style: float(w) for style, w in zip(styles, weights) if w}
    if not blend:
        raise gr.Error("Move at least one style slider above 0 to blend.", print_exception=False)
    return blend


def _caption(image) -> str:
    return f"{image.info.get('style', '')} · seed {image.info['seed']}" if "seed" in image.info else ""


class OutputFiles:
    """Where handlers write their outputs: a private temporary folder (removed at exit, and
    swept at the next start if the app was killed), swept of files older than
    OUTPUT_LIFETIME at most once a minute."""

    def __init__(self):
        self.folder = output_folder()
        self._swept = 0.0

    def new_path(self, name: str, suffix: str) -> Path:
        now = time.time()
        if now - self._swept > 60:
            self._swept = now
            for old in self.folder.iterdir():
                with contextlib.suppress(OSError):  # another request may have removed it
                    if old.stat().st_mtime < now - OUTPUT_LIFETIME:
                        old.unlink()
        return self.folder / f"{name}-{uuid.uuid4().hex[:12]}{suffix}"

    def save(self, image: Image.Image, name: str = "image", suffix: str = ".png") -> str:
        """`image` written to its own file. Outputs go to Gradio as files, not PIL images:
        Gradio rewrites a PIL output in place under a content-hash name, so two requests with
        the same result (the same photo's 'before', a popular example) could truncate a file
        while a browser downloads it; files are copied in atomically, once."""
        path = self.new_path(name, suffix)
        image.save(path, **({"quality": 90} if suffix == ".webp" else {}))
        return str(path)


class StyleApp:
    """The event handlers: each takes the widgets' values and calls the pipeline."""

    def __init__(self, pipe: StylePipeline = None, error: str = None):
        self.pipe = pipe
        self.error = error
        self.files = OutputFiles()

    def _pipeline(self) -> StylePipeline:
        if self.pipe is None:
            raise gr.Error(f"No model is loaded: {self.error}", print_exception=False)
        return self.pipe

    @_user_errors("Generation")
    def generate(self, style, seed, truncation, count, progress=gr.Progress(), *weights):
        """`weights`: one per style (the blend sliders), used when `style` is BLEND."""
        pipe = self._pipeline()
        styles = (pipe.styles if style == ALL_STYLES else
                  [blend_weights(pipe.styles, weights)] if style == BLEND else [style])
        seed = random.randrange(2**31) if seed is None else seed  # one seed for every style
        images = []
        for k, name in enumerate(styles):
            progress(k / len(styles), desc=f"Generating {name if isinstance(name, str) else 'the blend'}")
            images += pipe.generate(name, n=_whole(count), seed=seed, truncation=truncation, size=DISPLAY_SIZE)
        return [(self.files.save(image, f"{image.info['style']}-{image.info['seed']}"), _caption(image))
                for image in images]

    @_user_errors("Style transfer")
    def transfer(self, photo, target, style, reference, strength, preserve_color, seed, variants, brush,
                 progress=gr.Progress(), *weights):
        """`weights`: one per style (the blend sliders), used when `target` is TARGET_BLEND."""
        pipe = self._pipeline()
        content = load_image(photo, "photo", max_side=MAX_SIDE)  # the size the result will have
        if target == TARGET_REFERENCE:
            kwargs = dict(reference=load_image(reference, "reference image"))
        else:
            style = blend_weights(pipe.styles, weights) if target == TARGET_BLEND else style
            kwargs = dict(style=style, seed=seed, n=_whole(variants))
        progress(0, desc="Painting")
        paint_side = min(MAX_SIDE, round(BRUSHES[brush] * pipe.work_side))
        outputs = pipe.transfer(content, strength=strength, preserve_color=bool(preserve_color), paint_side=paint_side,
                                **kwargs)
        gallery = [(self.files.save(image, "painted"), _caption(image) or "in the reference's style")
                   for image in outputs]
        return (self.files.save(content, "before", ".webp"), self.files.save(outputs[0], "after", ".webp")), gallery

    @_user_errors("Video transfer")
    def video(self, clip, style, strength, seed, progress=gr.Progress()):
        """Paint every frame of the clip with one style code; an MP4 with the clip's audio."""
        pipe = self._pipeline()
        if clip is None:
            raise gr.Error("Upload or record a clip first.", print_exception=False)
        out = self.files.new_path("painted", ".mp4")

        def painted(done, total):
            progress(done / total, desc=f"Painting frame {done} of {total}")

        try:
            pipe.transfer_video(clip, out, style=style, strength=strength, seed=seed, callback=painted)
        except ImportError as err:  # PyAV missing
            raise gr.Error(str(err), print_exception=False) from None
        return str(out)

    def compare_variant(self, comparison, evt: gr.SelectData):
        """Show the variant clicked in the gallery in the before/after slider."""
        if not comparison or not evt.value:
            return comparison
        return comparison[0], evt.value["image"]["path"]

    @_user_errors("Interpolation")
    def interpolate(self, start_style, start_seed, start_reference, end_style, end_seed, end_reference, photo,
                    steps, truncation, progress=gr.Progress()):
        pipe = self._pipeline()
        start = load_image(start_reference, "start reference") if start_reference else None
        end = load_image(end_reference, "end reference") if end_reference else None
        if photo is None:
            start, end = start or (start_style, start_seed), end or (end_style, end_seed)

            def searching(done, total):  # inversion: the slow part, reported step by step
                progress(0.9 * done / total, desc=f"Finding the reference images in the generator: step {done} of "
                                                  f"{total}")

            frames = pipe.interpolate(start, end, steps=_whole(steps), truncation=truncation, size=DISPLAY_SIZE,
                                      callback=searching)
        else:
            progress(0.1, desc="Rendering frames")
            content = load_image(photo, "photo", max_side=ANIMATION_SIDE)
            frames = pipe.interpolate(start or start_style, end or end_style, steps=_whole(steps), seed=start_seed,
                                      image=content)
        progress(0.9, desc="Writing the GIF")
        gif = str(pipe.save_animation(frames, self.files.new_path("interpolation", ".gif"), fps=8))
        return [self.files.save(frame, f"frame-{i:02d}") for i, frame in enumerate(frames)], gif, gif

    @_user_errors("Style mixing")
    def mix(self, coarse_style, coarse_seeds, fine_style, fine_seeds, crossover, truncation,
            progress=gr.Progress()):
        """A grid: fine sources across the top, coarse sources down the left, mixes inside."""
        pipe = self._pipeline()
        rows, columns = parse_seeds(coarse_seeds, "coarse seeds"), parse_seeds(fine_seeds, "fine seeds")
        progress(0, desc="Mixing")
        grid = pipe.mix_grid(coarse_style, rows, fine_style, columns, crossover=_whole(crossover),
                             truncation=truncation, size=GRID_CELL, gap=GRID_GAP)
        return self.files.save(grid, "mixing-grid")


def load_pipeline(model):
    """(pipeline, None) or (None, a message saying why no model could be loaded). `model`: a
    StylePipeline, a folder or Hub repo id, or None for ganstyle's default model."""
    if isinstance(model, StylePipeline):
        return model, None
    try:
        model = default_model() if model is None else model
        return StylePipeline.from_pretrained(model), None
    except (ValueError, TypeError, OSError) as err:
        return None, f"Cannot load `{model or 'the default model'}`: {err}"
    except Exception as err:  # whatever a broken folder does, the app starts and says why
        log.exception("loading %s failed", model)
        return None, f"Cannot load `{model}`: {type(err).__name__}: {str(err)[:300]}"


def _model_name(model, pipe) -> str:
    """The model as the user named it (the argument, $GANSTYLE_MODEL, or the default Hub repo),
    in Markdown, saying so when the default came from the copy shipped in this repository."""
    if isinstance(model, StylePipeline):
        return f"`{pipe.source or 'a StylePipeline'}`"
    name = str(model or os.environ.get("GANSTYLE_MODEL") or DEFAULT_MODEL)
    if pipe is not None and name == DEFAULT_MODEL and pipe.source == SHIPPED_MODEL:
        where = SHIPPED_MODEL.relative_to(ROOT) if SHIPPED_MODEL.is_relative_to(ROOT) else SHIPPED_MODEL
        return f"`{name}` (its copy in `{where}`: the Hub could not be reached)"
    return f"`{name}`"


def read_examples() -> dict:
    """The manifest written by examples/make_examples.py, with absolute paths of existing files."""
    try:
        manifest = json.loads((EXAMPLES / "examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"photos": [], "references": [], "clips": []}
    return {kind: [dict(e, path=str(EXAMPLES / e["file"])) for e in manifest.get(kind, [])
                   if (EXAMPLES / e["file"]).is_file()]
            for kind in ("photos", "references", "clips")}


def model_card(pipe: StylePipeline) -> tuple:
    """(Markdown, images) of the model's card (`StylePipeline.model_card`): headings pushed down
    a level to sit under the About tab's own, and the figures it links (relative to its
    folder) as (caption, path) for the tab to show."""
    card = pipe.source / "README.md" if pipe.source else None
    return split_card(pipe.model_card(), card.parent if card is not None and card.is_file() else ROOT)


RUN_LOCALLY = """
### Run it yourself

```bash
pip install -r requirements.txt
python app.py                                    # the default model (Hub, else checkpoints/), on http://127.0.0.1:7860
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
    """What the About tab says first, in plain words: the model, what it does, its styles."""
    if pipe is None:
        return f"### No model is loaded\n\n{error}\n"
    abilities = []
    if pipe.generator is not None:
        abilities.append("draws random images of each style, walks between styles and mixes the layout of "
                         "one image with the colours of another")
    if pipe.translator is not None:
        abilities.append("repaints photos in a style or in the style of a painting you give it")
    return (f"**Model:** {model_name}, {resolution_text(pipe)}. It "
            + " and ".join(abilities) + ".\n\n"
            f"**Styles:** {', '.join(pipe.styles)}\n\n"
            "Its model card, below, says what it was trained on, how well it does and what still looks wrong.")


def resolution_text(pipe) -> str:
    """The sizes the model's networks work at, in words: generated images are drawn at the
    generator's size (and shown larger); transfer paints at the photo's size up to the
    translator's working side, and larger photos at that side, enlarged after."""
    parts = []
    if pipe.generator is not None:
        parts.append(f"generation at {pipe.generator_resolution} px (shown at {DISPLAY_SIZE} px)")
    if pipe.translator is not None:
        parts.append(f"transfer trained at {pipe.translator_resolution} px, painted at up to {pipe.work_side} px")
    return ", ".join(parts)


def about_content(pipe, error, model_name) -> None:
    """The About tab's content: the summary, the model card's figures, the card itself
    (training details and metrics) folded away, and how to run the app yourself."""
    gr.Markdown(about_markdown(pipe, error, model_name), elem_id="about")
    if pipe is not None:
        text, images = model_card(pipe)
        if images:
            with gr.Row(elem_id="model-card-figures"):
                for caption, path in images:
                    gr.Image(open_image(path), label=caption, interactive=False, show_label=True)
        with gr.Accordion("Model card: training data, how it was trained, metrics", open=False,
                          elem_id="model-card-accordion"):
            gr.Markdown(text, elem_id="model-card")
    gr.Markdown(_run_locally())


def _randomize():
    return random.randrange(1_000_000)


def seed_box(api_name: str, label: str = "Seed", value: int = 0, **kwargs) -> gr.Number:
    """A seed field with a 'random' button in its toolbar (event `api_name`)."""
    dice = gr.Button("random", size="sm", variant="secondary")
    box = guard_whole_number(gr.Number(label=label, value=value, precision=0, minimum=0, buttons=[dice], **kwargs))
    dice.click(_randomize, outputs=box, api_name=api_name, queue=False)
    return box


def blend_sliders(styles, prefix: str) -> list:
    """One weight slider per style for a blend (the first three painting styles start at
    0.5, 0.3 and 0.2)."""
    start = dict(zip([s for s in styles if s != "photo"] or list(styles), (0.5, 0.3, 0.2)))
    return [gr.Slider(0, 1, value=start.get(style, 0.0), step=0.05, label=style, elem_id=f"{prefix}-weight-{style}")
            for style in styles]


def blend_panel(styles, prefix: str):
    """The blend sliders in a group shown only when a blend is chosen: (group, sliders)."""
    with gr.Group(visible=False, elem_id=f"{prefix}-blend") as group:
        gr.Markdown("Weights of the blend (normalized to sum to 1)", padding=True)
        sliders = blend_sliders(styles, prefix)  # stacked: a row of them would not fit a phone
    return group, sliders


def example_weights(styles, blend: dict = None) -> list:
    """Slider values of an example row: the blend's weights, or zeros."""
    return [(blend or {}).get(style, 0.0) for style in styles]


@dataclass
class Page:
    """What every tab builder reads: the model (or why there is none), the handlers, the
    example files and the options shared by every model event."""

    pipe: StylePipeline
    error: str
    model_name: str
    handlers: StyleApp
    examples: dict
    events: dict = field(default_factory=lambda: dict(concurrency_limit=CONCURRENCY, concurrency_id="model"))
    heavy_events: dict = field(default_factory=lambda: dict(concurrency_limit=CONCURRENCY, concurrency_id="heavy"))
    """Interpolations (GAN inversions of reference images: seconds to tens of seconds each) run
    in a slot of their own, so a one-image request never waits behind a row of them."""

    @property
    def styles(self) -> list:
        return self.pipe.styles if self.pipe else []

    @property
    def first(self):
        return self.styles[0] if self.styles else None

    @property
    def last(self):
        return self.styles[-1] if self.styles else None

    @property
    def paintings(self) -> list:
        """The styles a photo is repainted in by default (all but 'photo')."""
        return [s for s in self.styles if s != "photo"] or self.styles

    def has(self, component: str) -> bool:
        return bool(self.pipe and component in self.pipe.components)

    @property
    def blend(self) -> dict:
        """The blend of the examples: the first three painting styles at 0.5, 0.3 and 0.2."""
        return dict(zip(self.paintings[:3], (0.5, 0.3, 0.2)))

    @property
    def mix_layers(self) -> int:
        return max(3, self.pipe.generator.mix_layers if self.has("generator") else 8)


def generate_tab(page: Page) -> None:
    styles, h = page.styles, page.handlers
    with gr.Tab("Random generation", id="generate"):
        with gr.Row():
            with gr.Column(scale=1):
                style = guard_choice(gr.Dropdown([ALL_STYLES, *styles, BLEND] if styles else [ALL_STYLES],
                                                 value=ALL_STYLES, label="Style", elem_id="generate-style"))
                blend, weights = blend_panel(styles, "generate")
                seed = seed_box("randomize_generate_seed")
                truncation = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation",
                                       info="lower: closer to the style's average, fewer artefacts")
                count = gr.Slider(1, MAX_COUNT, value=4, step=1, label="Count", info="images per style")
                button = gr.Button("Generate", variant="primary", interactive=page.has("generator"))
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Generated images", columns=4, format="png", height=560,
                                     buttons=["download", "download_all", "fullscreen"], elem_id="generate-gallery")
        style.change(lambda s: gr.update(visible=s == BLEND), style, blend, api_name="generate_style",
                     api_visibility="private", queue=False)
        inputs = [style, seed, truncation, count, *weights]
        button.click(h.generate, inputs, gallery, api_name="generate", **page.events)
        if styles and page.has("generator"):
            rows = [[ALL_STYLES, 0, 0.7, 2], [page.last, 42, 0.5, 8], [page.first, 7, 1.0, 4]]
            rows = [row + example_weights(styles) for row in rows] + [[BLEND, 3, 0.7, 4] + example_weights(styles, page.blend)]
            gr.Examples(rows, inputs, gallery, fn=h.generate, api_name="example_generate",
                        example_labels=["all styles", f"{page.last}, seed 42", f"{page.first}, seed 7",
                                        "blend " + " + ".join(page.blend)], **CACHED)


def _transfer_examples(page: Page) -> list:
    """Example rows of the transfer tab: up to six example photos each in a painting style, the
    first one in the style of the first example reference, and one in the examples' blend."""
    paintings, examples, zeros = page.paintings, page.examples, example_weights(page.styles)
    if not paintings:
        return []
    photos = [e for e in examples["photos"] if not e["file"].startswith("ref-")][:6]
    rows = [[e["path"], TARGET_STYLE, paintings[i % len(paintings)], None, 1.0, False, i, 2,
             "Broad" if i == len(photos) - 1 else "Medium"] + zeros for i, e in enumerate(photos)]
    if rows and examples["references"]:
        rows.append([rows[0][0], TARGET_REFERENCE, paintings[0], examples["references"][0]["path"], 0.8, False, 0, 1,
                     "Medium"] + zeros)
    if rows and len(paintings) > 1:
        rows.append([rows[min(1, len(rows) - 1)][0], TARGET_BLEND, paintings[0], None, 1.0, False, 1, 2, "Medium"]
                    + example_weights(page.styles, page.blend))
    return rows


def transfer_tab(page: Page) -> None:
    h, uploads = page.handlers, page.handlers.files.folder
    with gr.Tab("Style transfer", id="transfer"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = image_input(uploads, "Photo", height=260, elem_id="transfer-photo")
                target = gr.Radio([TARGET_STYLE, TARGET_REFERENCE, TARGET_BLEND], value=TARGET_STYLE, label="Target",
                                  elem_id="transfer-target")
                style = guard_choice(gr.Dropdown(page.styles, value=page.paintings[0] if page.paintings else None,
                                                 label="Style"))
                reference = image_input(uploads, "Reference image (its style is copied)", height=200, visible=False,
                                        elem_id="transfer-reference")
                blend, weights = blend_panel(page.styles, "transfer")
                strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength",
                                     info="0 keeps the photo, 1 is the full style")
                colors = gr.Checkbox(label="Preserve the photo's colours")
                seed = seed_box("randomize_transfer_seed")
                variants = gr.Slider(1, MAX_VARIANTS, value=2, step=1, label="Variants",
                                     info="different seeds of the style")
                brush = guard_choice(gr.Radio(
                    list(BRUSHES), value="Medium", label="Brush", elem_id="transfer-brush",
                    info="broad: larger strokes, softer, less of the photo; fine: sharper, more of it"))
                button = gr.Button("Repaint", variant="primary", interactive=page.has("translator"))
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before / after", type="filepath", max_height=520, interactive=False,
                                        elem_id="transfer-slider")
                gallery = gr.Gallery(label="Variants (click one to compare)", columns=4, format="png", height=240,
                                     object_fit="contain", fit_columns=False,
                                     buttons=["download", "download_all", "fullscreen"], elem_id="transfer-gallery")
        target.change(lambda t: [gr.update(visible=t == TARGET_STYLE), gr.update(visible=t == TARGET_REFERENCE),
                                 gr.update(visible=t != TARGET_REFERENCE), gr.update(visible=t != TARGET_REFERENCE),
                                 gr.update(visible=t == TARGET_BLEND)],
                      target, [style, reference, seed, variants, blend], api_name="transfer_target", queue=False)
        inputs = [photo, target, style, reference, strength, colors, seed, variants, brush, *weights]
        button.click(h.transfer, inputs, [slider, gallery], api_name="transfer", **page.events)
        gallery.select(h.compare_variant, slider, slider, api_name="compare_variant", api_visibility="private",
                       queue=False)
        rows = _transfer_examples(page)
        if rows and page.has("translator"):
            gr.Examples(rows, inputs, [slider, gallery], fn=h.transfer, api_name="example_transfer",
                        examples_per_page=8, **CACHED)  # no labels: the photos show as thumbnails


def interpolation_section(page: Page) -> None:
    styles, first, last, uploads = page.styles, page.first, page.last, page.handlers.files.folder
    gr.Markdown("### Interpolation\nA walk from one style (and seed) to another. Either end may "
                "be a reference image instead (the generator's closest image to it). Add a photo to "
                "walk its repainting instead.")
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                start = guard_choice(gr.Dropdown(styles, value=first, label="Start style", min_width=120))
                start_seed = seed_box("randomize_start_seed", "Start seed", 0, min_width=120)
            with gr.Row():
                end = guard_choice(gr.Dropdown(styles, value=last, label="End style", min_width=120))
                end_seed = seed_box("randomize_end_seed", "End seed", 1, min_width=120)
            steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps")
            truncation = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation")
            with gr.Accordion("Photo and reference images (optional)", open=False):
                photo = image_input(uploads, "Photo to repaint along the walk", height=180)
                with gr.Row():
                    start_ref = image_input(uploads, "Start reference", height=140,
                                            elem_id="interpolate-start-ref")
                    end_ref = image_input(uploads, "End reference", height=140, elem_id="interpolate-end-ref")
            button = gr.Button("Interpolate", variant="primary", interactive=page.pipe is not None)
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Frames", columns=8, format="png", height=200,
                                 buttons=["download", "download_all", "fullscreen"], elem_id="interpolate-gallery")
            with gr.Row():
                preview = gr.Image(label="Animation", type="filepath", height=260, elem_id="interpolate-animation")
                gif = gr.File(label="Download the GIF", elem_id="interpolate-gif")
    inputs = [start, start_seed, start_ref, end, end_seed, end_ref, photo, steps, truncation]
    button.click(page.handlers.interpolate, inputs, [gallery, preview, gif], api_name="interpolate",
                 **page.heavy_events)
    if styles:
        rows = [[first, 0, None, last, 0, None, None, 12, 0.7], [last, 3, None, last, 9, None, None, 8, 0.7]]
        if page.examples["photos"] and len(page.paintings) > 1:
            rows.append([page.paintings[0], 0, None, page.paintings[-1], 0, None,
                         page.examples["photos"][0]["path"], 8, 0.7])
        gr.Examples(rows, inputs, [gallery, preview, gif], fn=page.handlers.interpolate, api_name="example_interpolate",
                    **(CACHED if page.has("generator") and page.has("translator") else {}))


def mixing_section(page: Page) -> None:
    styles, first, last, layers = page.styles, page.first, page.last, page.mix_layers
    gr.Markdown("### Style mixing\nEach cell takes its layout from its row (coarse layers) and "
                "its colours and texture from its column (fine layers).")
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                coarse = guard_choice(gr.Dropdown(styles, value=first, label="Coarse style (rows)"))
                coarse_seeds = gr.Textbox("1, 2, 3", label="Coarse seeds", info=f"1 to {MAX_GRID}, comma separated")
            with gr.Row():
                fine = guard_choice(gr.Dropdown(styles, value=last, label="Fine style (columns)"))
                fine_seeds = gr.Textbox("4, 5, 6", label="Fine seeds", info=f"1 to {MAX_GRID}, comma separated")
            crossover = gr.Slider(1, layers - 1, value=layers // 2, step=1, label="Crossover layer",
                                  info="low: only the coarsest layout comes from the rows")
            truncation = gr.Slider(0, 1, value=0.7, step=0.05, label="Truncation")
            button = gr.Button("Mix", variant="primary", interactive=page.has("generator"))
        with gr.Column(scale=2):
            grid = gr.Image(label="Mixing grid", type="filepath", height=520, elem_id="mix-grid")
    inputs = [coarse, coarse_seeds, fine, fine_seeds, crossover, truncation]
    button.click(page.handlers.mix, inputs, grid, api_name="mix", **page.events)
    if styles:
        gr.Examples([[first, "1, 2, 3", last, "4, 5, 6", layers // 2, 0.7],
                     [last, "10, 11", first, "20, 21, 22, 23", max(1, layers // 4), 0.7]], inputs, grid,
                    fn=page.handlers.mix, api_name="example_mix", **(CACHED if page.has("generator") else {}))


def interpolate_tab(page: Page) -> None:
    with gr.Tab("Interpolation & mixing", id="interpolate"):
        interpolation_section(page)
        mixing_section(page)


def video_tab(page: Page) -> None:
    h, paintings = page.handlers, page.paintings
    with gr.Tab("Video", id="video"):
        gr.Markdown(f"### Paint a short clip\nEvery frame in one style, with the same style code (so the style "
                    f"holds still while the scene moves); the frame rate and the sound are kept. Clips of up to "
                    f"{MAX_VIDEO_SECONDS:g} s and {MAX_VIDEO_FRAMES} frames, {MAX_VIDEO_INPUT_SIDE} px on a side and "
                    f"{MAX_FILE_SIZE.upper()}; the result is an MP4 of up to {VIDEO_SIDE} px.")
        with gr.Row():
            with gr.Column(scale=1):
                clip = gr.Video(label="Clip", sources=["upload", "webcam"], height=260, elem_id="video-clip")
                style = guard_choice(gr.Dropdown(page.styles, value=paintings[0] if paintings else None,
                                                 label="Style"))
                strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength",
                                     info="0 keeps the clip, 1 is the full style")
                seed = seed_box("randomize_video_seed")
                button = gr.Button("Paint the clip", variant="primary", interactive=page.has("translator"))
            with gr.Column(scale=2):
                result = gr.Video(label="Painted clip", interactive=False, height=420, elem_id="video-result")
        inputs = [clip, style, strength, seed]
        button.click(h.video, inputs, result, api_name="video", **page.events)
        clips = page.examples["clips"]
        if clips and paintings and page.has("translator"):
            gr.Examples([[e["path"], paintings[i % len(paintings)], 1.0, i] for i, e in enumerate(clips)], inputs,
                        result, fn=h.video, api_name="example_video",
                        example_labels=[f"{paintings[i % len(paintings)]}: {Path(e['path']).stem}"
                                        for i, e in enumerate(clips)], **CACHED)


def about_tab(page: Page) -> None:
    with gr.Tab("About", id="about"):
        about_content(page.pipe, page.error, page.model_name)


TABS = (generate_tab, transfer_tab, interpolate_tab, video_tab, about_tab)
"""The page's tabs, in order: each builds its widgets and events from the `Page`."""


def build_app(model=None) -> gr.Blocks:
    """The Blocks app for `model`: a StylePipeline, an export folder or Hub repo id, or None
    for $GANSTYLE_MODEL (default: `DEFAULT_MODEL` from the Hub, or its copy in checkpoints/).
    A model that cannot be loaded gives a page that says why, and whose actions answer with
    that message."""
    pipe, error = load_pipeline(model)
    page = Page(pipe, error, _model_name(model, pipe), StyleApp(pipe, error), read_examples())
    with gr.Blocks(title="ganstyle: style-diverse GAN images", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# ganstyle\nRandom images in several styles, photos repainted in a style or in the "
                    "style of a reference image, and smooth walks and mixes between styles, all from one GAN.")
        if pipe is None:
            gr.Markdown(f"> **No model is loaded:** {error}", elem_id="model-missing")
        else:
            gr.Markdown(f"Model {page.model_name} · styles: **{', '.join(pipe.styles)}** · "
                        f"{resolution_text(pipe)}", elem_id="model-line")
        with gr.Tabs():
            for tab in TABS:
                tab(page)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    limit_waiting_per_client(demo)
    return demo


LAUNCH_OPTIONS = dict(max_file_size=MAX_FILE_SIZE, footer_links=["api", "gradio"])
"""Options of `demo.launch` for this app (tests and benchmarks use them too)."""


@functools.cache
def _default_demo() -> gr.Blocks:
    return build_app()


def __getattr__(name):
    """`demo`, built on first access, so that importing this module loads no model."""
    if name == "demo":
        return _default_demo()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    # `python app.py` and the Space: ganstyle's log lines (which model was loaded) on stderr
    logging.basicConfig(format="%(name)s: %(message)s")
    logging.getLogger("ganstyle").setLevel(logging.INFO)
    _default_demo().launch(**LAUNCH_OPTIONS)
