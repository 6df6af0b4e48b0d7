"""The Gradio app over HTTP: every endpoint called with gradio_client on a local server.

The server runs the app built from $GANSTYLE_MODEL (a tiny random-weight export) as
`python app.py` would, on 127.0.0.1 (tests/app_server.py). Returned images are checked
against what the pipeline itself renders, and bad inputs must come back as the app's error
messages.
"""

import base64
import io
import json
import os
import struct
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry from the test server
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from app_server import serve  # noqa: E402
from hostile_images import HUGE_16_BIT, THIN, png_bytes  # noqa: E402
from tiny_model import STYLES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app.py lives at the root (plain `pytest` does not add it)
    sys.path.insert(0, str(ROOT))
PHOTO = ROOT / "examples" / "scene-lake.jpg"  # 384x288
REFERENCE = ROOT / "examples" / "scene-town.jpg"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(tiny_dir):
    import app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("GANSTYLE_MODEL", str(tiny_dir))
        demo = app.build_app()  # the model named by $GANSTYLE_MODEL, as `python app.py` does
    with serve(demo, **app.LAUNCH_OPTIONS) as url:
        yield Client(url, verbose=False, analytics_enabled=False)


def _open(path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image.convert("RGB") if image.mode != "RGB" else image.copy()


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


def _close(a: Image.Image, b: Image.Image, tolerance: float = 4.0) -> bool:
    """Same size and nearly the same pixels (mean absolute difference, 0-255 scale)."""
    diff = np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32))
    return a.size == b.size and float(diff.mean()) < tolerance


def test_every_endpoint_is_named(client):
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/generate", "/transfer", "/interpolate", "/mix", "/transfer_target", "/randomize_generate_seed",
            "/randomize_transfer_seed", "/randomize_start_seed", "/randomize_end_seed"} <= endpoints


def test_generate_all_styles(client, pipe):
    gallery = client.predict("All styles", 5, 0.7, 2, api_name="/generate")
    assert [g["caption"] for g in gallery] == [f"{s} · seed {5 + i}" for s in STYLES for i in range(2)]
    expected = [im for s in STYLES for im in pipe.generate(s, n=2, seed=5, truncation=0.7, size=256)]
    for item, want in zip(gallery, expected):
        assert item["image"].endswith(".png")
        got = _open(item["image"])
        assert got.size == (256, 256)
        assert _same(got, want), "the app must return exactly what the pipeline renders"


def test_generate_one_style(client):
    gallery = client.predict("square", 11, 1.0, 3, api_name="/generate")
    assert [g["caption"] for g in gallery] == ["square · seed 11", "square · seed 12", "square · seed 13"]
    gallery = client.predict("All styles", None, 1.0, 1, api_name="/generate")  # empty seed box: a random seed
    assert len({g["caption"].split(" · ")[1] for g in gallery}) == 1, "one seed for all styles"


def test_transfer_named_style(client, pipe):
    (before, after), variants = client.predict(handle_file(PHOTO), "Named style", "triangle", None, 0.8, False, 3, 2,
                                               "Medium", api_name="/transfer")
    assert _close(_open(before), _open(PHOTO)), "the slider (lossy WebP) shows the photo as 'before'"
    assert _open(after).size == (384, 288)
    assert [v["caption"] for v in variants] == ["triangle · seed 3", "triangle · seed 4"]
    expected = pipe.transfer(str(PHOTO), style="triangle", strength=0.8, seed=3, n=2)
    for item, want in zip(variants, expected):
        assert _same(_open(item["image"]), want)


def test_transfer_brush_sizes(client, pipe):
    """The Brush paints at 2/3, 1 or 4/3 of the model's working side: what the pipeline gives
    with that paint_side; a brush outside the list gets a short message."""
    import app

    for brush in ("Broad", "Fine"):
        _, variants = client.predict(handle_file(PHOTO), "Named style", "triangle", None, 1.0, False, 3, 1, brush,
                                     api_name="/transfer")
        side = round(app.BRUSHES[brush] * pipe.work_side)
        want = pipe.transfer(str(PHOTO), style="triangle", seed=3, paint_side=side)[0]
        assert _same(_open(variants[0]["image"]), want)
        assert not _same(want, pipe.transfer(str(PHOTO), style="triangle", seed=3)[0])
    with pytest.raises(AppError, match=r"Brush: 'Huge' is not in the list of choices \(Broad, Medium, Fine\)"):
        client.predict(handle_file(PHOTO), "Named style", "triangle", None, 1.0, False, 3, 1, "Huge",
                       api_name="/transfer")


def test_transfer_reference_and_colours(client):
    (_, after), variants = client.predict(handle_file(PHOTO), "Reference image", "circle", handle_file(REFERENCE),
                                          1.0, True, 0, 4, "Medium", api_name="/transfer")
    assert len(variants) == 1, "a reference gives one result whatever the variant count"
    assert _open(after).size == (384, 288)


def test_large_photos_are_downscaled(client, tmp_path):
    import app
    from ganstyle.inference.pipeline import MAX_SIDE

    big = tmp_path / "big.png"
    Image.new("RGB", (MAX_SIDE + 200, (MAX_SIDE + 200) * 3 // 4), (90, 140, 200)).save(big)
    (before, after), variants = client.predict(handle_file(big), "Named style", "circle", None, 1.0, False, 0, 1,
                                               "Medium", api_name="/transfer")
    assert _open(variants[0]["image"]).size == (MAX_SIDE, MAX_SIDE * 3 // 4)
    assert _open(before).size == _open(after).size == (MAX_SIDE, MAX_SIDE * 3 // 4)
    frames, _, _ = client.predict("circle", 0, None, "square", 0, None, handle_file(big), 2, 0.7,
                                  api_name="/interpolate")
    assert _open(frames[0]["image"]).size == (app.ANIMATION_SIDE, app.ANIMATION_SIDE * 3 // 4)


def test_interpolate_generated(client, pipe):
    frames, preview, gif = client.predict("circle", 1, None, "triangle", 2, None, None, 5, 0.7,
                                          api_name="/interpolate")
    expected = pipe.interpolate(("circle", 1), ("triangle", 2), steps=5, truncation=0.7, size=256)
    assert len(frames) == 5
    for item, want in zip(frames, expected):
        assert _same(_open(item["image"]), want)
    assert gif.endswith(".gif") and preview.endswith(".gif")
    with Image.open(gif) as animation:
        assert animation.size == (256, 256)
        assert animation.n_frames == 5 + 3  # forward, then back (boomerang)


def test_interpolate_generated_from_a_reference_image(client, pipe):
    """Without a photo, a reference end is the generator's closest image to it (inversion)."""
    frames, _, _ = client.predict("circle", 0, handle_file(REFERENCE), "square", 1, None, None, 3, 0.7,
                                  api_name="/interpolate")
    expected = pipe.interpolate(Image.open(REFERENCE), ("square", 1), steps=3, truncation=0.7, size=256)
    assert len(frames) == 3
    for item, want in zip(frames, expected):
        assert _same(_open(item["image"]), want)


def test_interpolate_photo_between_style_and_reference(client):
    frames, _, gif = client.predict("circle", 0, None, "square", 0, handle_file(REFERENCE), handle_file(PHOTO), 3,
                                    0.7, api_name="/interpolate")
    assert [_open(f["image"]).size for f in frames] == [(384, 288)] * 3
    with Image.open(gif) as animation:
        assert animation.size == (384, 288)


def test_mix_grid(client, pipe):
    import app

    grid = _open(client.predict("circle", "1, 2", "square", "3,4,5", 3, 0.7, api_name="/mix"))
    cell, edge = app.GRID_CELL, app.GRID_CELL + app.GRID_GAP
    assert grid.size == (edge + 3 * cell, edge + 2 * cell)
    mixed = grid.crop((edge + cell, edge, edge + 2 * cell, edge + cell))  # row seed 1 x column seed 4
    assert _same(mixed, pipe.mix(("circle", 1), ("square", 4), crossover=3, truncation=0.7, size=cell))
    fine_source = grid.crop((edge, 0, edge + cell, cell))
    assert _same(fine_source, pipe.generate("square", seed=3, truncation=0.7, size=cell)[0])


def test_small_events(client):
    seed = client.predict(api_name="/randomize_generate_seed")
    assert isinstance(seed, (int, float)) and seed >= 0
    # (the blend sliders' group is a layout block: the client does not return it; the browser test sees it)
    style, reference, seed_box, variants = client.predict("Reference image", api_name="/transfer_target")
    assert not style["visible"] and reference["visible"] and not variants["visible"]
    style, reference, seed_box, variants = client.predict("Blend of styles", api_name="/transfer_target")
    assert not style["visible"] and not reference["visible"] and variants["visible"]


def test_generate_and_transfer_a_three_style_blend(client, pipe):
    """One slider per style: the weights go to the pipeline as a blend."""
    gallery = client.predict("Blend of styles", 4, 0.7, 2, 0.5, 0.3, 0.2, api_name="/generate")
    expected = pipe.generate({"circle": 0.5, "square": 0.3, "triangle": 0.2}, n=2, seed=4, truncation=0.7,
                             size=256)
    assert [item["caption"] for item in gallery] == ["circle=0.5,square=0.3,triangle=0.2 · seed 4",
                                                     "circle=0.5,square=0.3,triangle=0.2 · seed 5"]
    assert all(_same(_open(item["image"]), image) for item, image in zip(gallery, expected))
    (_, after), variants = client.predict(handle_file(PHOTO), "Blend of styles", "circle", None, 1.0, False, 2, 1,
                                          "Medium", 0.2, 0.0, 0.8, api_name="/transfer")
    assert variants[0]["caption"] == "circle=0.2,triangle=0.8 · seed 2"
    assert _same(_open(variants[0]["image"]), pipe.transfer(PHOTO, style={"circle": 0.2, "triangle": 0.8}, seed=2)[0])
    with pytest.raises(AppError, match="Move at least one style slider above 0"):
        client.predict("Blend of styles", 4, 0.7, 2, 0, 0, 0, api_name="/generate")


def test_video_round_trip(client, tmp_path):
    av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
    from video_clip import write_clip

    from ganstyle.inference.video import probe_video, read_frames

    clip = write_clip(tmp_path / "clip.mp4", seconds=2.0)
    result = client.predict(handle_file(clip), "square", 1.0, 0, api_name="/video")
    painted = result["video"] if isinstance(result, dict) else result
    info = probe_video(painted)
    assert (info["width"], info["height"], info["fps"], info["frames"], info["audio"]) == (96, 64, 12.0, 24, "aac")
    assert np.abs(read_frames(painted)[0].astype(int) - read_frames(clip)[0]).mean() > 5
    assert av is not None


def test_examples_are_cached_at_start(client):
    """Eager caching: every example's result exists before anyone clicks (in this process's cache)."""
    import app

    cached = list(app.EXAMPLE_CACHE.rglob("log.csv"))
    assert len(cached) >= 5, cached  # generate, transfer, interpolate, mix, video


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but that holds almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "corrupt.png").write_bytes(os.urandom(2048))
    jpeg = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(jpeg, "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.getvalue()[:len(jpeg.getvalue()) // 2])  # header intact
    (folder / "huge.png").write_bytes(_png_header(8000, 6000))  # 48 MP: above the app's limit
    (folder / "bomb.png").write_bytes(_png_header(30000, 30000))  # 900 MP: Pillow refuses to open it
    (folder / "thin.png").write_bytes(png_bytes(**THIN))  # 585 bytes: 3-4 GB per request before the limits
    return folder


TRANSFER = "/transfer"
BAD_INPUTS = [
    ("no photo", TRANSFER, lambda f: (None, "Named style", "circle", None, 1.0, False, 0, 1),
     "Upload a photo first"),
    ("corrupt file", TRANSFER, lambda f: (handle_file(f / "corrupt.png"), "Named style", "circle", None, 1.0, False,
                                          0, 1), "not an image that can be read"),
    ("truncated file", TRANSFER, lambda f: (handle_file(f / "truncated.jpg"), "Named style", "circle", None, 1.0,
                                            False, 0, 1), "truncated or corrupt"),
    ("huge image", TRANSFER, lambda f: (handle_file(f / "huge.png"), "Named style", "circle", None, 1.0, False, 0, 1),
     "8000x6000 pixels (48 MP); at most 40 MP are accepted"),
    ("decompression bomb", TRANSFER, lambda f: (handle_file(f / "bomb.png"), "Named style", "circle", None, 1.0,
                                                False, 0, 1), "too large to open safely"),
    ("no reference", TRANSFER, lambda f: (handle_file(PHOTO), "Reference image", "circle", None, 1.0, False, 0, 1),
     "Upload a reference image first"),
    ("unknown style", "/generate", lambda f: ("monet", 0, 0.7, 2), "not in the list of choices"),
    ("unknown transfer style", TRANSFER, lambda f: (handle_file(PHOTO), "Named style", "monet", None, 1.0, False,
                                                    0, 1), "not in the list of choices"),
    ("count too high", "/generate", lambda f: ("circle", 0, 0.7, 500), "greater than maximum value 16"),
    ("negative seed", "/generate", lambda f: ("circle", -4, 0.7, 1), "less than minimum value 0"),
    ("strength above 1", TRANSFER, lambda f: (handle_file(PHOTO), "Named style", "circle", None, 3.0, False, 0, 1),
     "greater than maximum value 1"),
    ("corrupt end reference", "/interpolate",
     lambda f: ("circle", 0, None, "square", 1, handle_file(f / "corrupt.png"), None, 4, 0.7),
     "End reference: the file is not an image"),
    ("bad seed list", "/mix", lambda f: ("circle", "1, two", "square", "3", 3, 0.7), "whole numbers"),
    # found by the fault probe (issue 14)
    ("thin reference", TRANSFER, lambda f: (handle_file(PHOTO), "Reference image", "circle",
                                            handle_file(f / "thin.png"), 1.0, False, 0, 1),
     "is 1x131000 pixels, more than 64:1"),
    ("thin end reference", "/interpolate",
     lambda f: ("circle", 0, None, "square", 1, handle_file(f / "thin.png"), None, 4, 0.7), "more than 64:1"),
    ("count 1.5", "/generate", lambda f: ("circle", 0, 0.7, 1.5), "n must be an integer, got float"),
    ("text seed", "/generate", lambda f: ("circle", "abc", 0.7, 1), "Seed must be a whole number, got 'abc'"),
    ("100 kB style name", "/generate", lambda f: ("x" * 100_000, 0, 0.7, 1),
     "(100,002 characters) is not in the list of choices"),
    ("too many seeds", "/mix", lambda f: ("circle", "1,2,3,4,5,6", "square", "3", 3, 0.7),
     "number of coarse seeds must be between 1 and 4"),
    ("too many seeds", "/mix", lambda f: ("circle", "1,2,3,4,5,6", "square", "3", 3, 0.7),
     "number of coarse seeds must be between 1 and 4"),
]


@pytest.mark.parametrize("args,endpoint,message", [(b[2], b[1], b[3]) for b in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_returns_the_message(client, bad_files, args, endpoint, message):
    with pytest.raises(AppError) as caught:
        client.predict(*args(bad_files), api_name=endpoint)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_keeps_serving_after_errors(client, bad_files):
    for _ in range(2):
        with pytest.raises(AppError):
            client.predict(handle_file(bad_files / "corrupt.png"), "Named style", "circle", None, 1.0, False, 0, 1,
                           api_name=TRANSFER)
    assert len(client.predict("circle", 0, 0.7, 1, api_name="/generate")) == 1


def test_upload_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict(handle_file(big), "Named style", "circle", None, 1.0, False, 0, 1, api_name=TRANSFER)


def _raw_call(url: str, endpoint: str, body: str) -> str:
    """POST a raw JSON body (which may hold NaN or Infinity, as JavaScript's JSON does not
    but Python's does) to /gradio_api/call/<endpoint>; the event stream of its answer."""
    request = urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
    return urllib.request.urlopen(f"{url}gradio_api/call/{endpoint}/{event}", timeout=120).read().decode()


@pytest.mark.parametrize("seed, message", [("NaN", "Seed must be a whole number, got nan"),
                                           ("Infinity", "Seed must be a whole number, got inf"),
                                           ("1e400", "Seed must be a whole number, got inf"),
                                           ('"abc"', "Seed must be a whole number, got 'abc'"),
                                           ("-Infinity", "Value -inf is less than minimum value 0")])
def test_raw_json_seeds_get_a_real_error(client, seed, message):
    """NaN, Infinity and text seeds answered {"error": null}."""
    answer = _raw_call(client.src, "generate", f'{{"data": ["circle", {seed}, 0.7, 1, 0.5, 0.3, 0.2]}}')  # + the blend sliders
    assert "event: error" in answer and message in answer, answer


def _data_url(data: bytes) -> dict:
    return {"url": "data:image/png;base64," + base64.b64encode(data).decode(), "meta": {"_type": "gradio.FileData"}}


def test_data_urls_get_the_same_limits_and_results_as_uploads(client, pipe):
    """`data:` URLs skipped the upload size limit, and Gradio decoded 169 MP images from them
    before the app's own check; now they are checked from the header, like every upload."""
    args = ("Named style", "circle", None, 1.0, False, 0, 1)
    start = time.perf_counter()
    with pytest.raises(AppError, match=r"13000x13000 pixels \(169 MP\); at most 40 MP are accepted"):
        client.predict(_data_url(png_bytes(**HUGE_16_BIT)), *args, api_name=TRANSFER)
    assert time.perf_counter() - start < 10  # was 8-10 s of decoding and 2.9-3.7 GB in the server
    with pytest.raises(AppError, match=r"the file is 2[01]\.\d MB; this app accepts images up to 20 MB"):
        client.predict(_data_url(b"\x89PNG" + bytes(21 * 2**20)), *args, api_name=TRANSFER)
    with pytest.raises(AppError, match="more than 64:1"):
        client.predict(_data_url(png_bytes(**THIN)), *args, api_name=TRANSFER)
    buffer = io.BytesIO()
    _open(PHOTO).save(buffer, "PNG")
    _, variants = client.predict(_data_url(buffer.getvalue()), *args, api_name=TRANSFER)
    assert _same(_open(variants[0]["image"]), pipe.transfer(str(PHOTO), style="circle", seed=0)[0])


def test_images_by_url_are_refused_before_any_download(client):
    """Gradio would fetch an http(s) URL whole, with no size limit, before the app's checks."""
    url = "http://127.0.0.1:9/huge.png"  # port 9 (discard): nothing would answer anyway
    image = json.dumps({"path": url, "url": url, "meta": {"_type": "gradio.FileData"}})
    body = f'{{"data": [{image}, "Named style", "circle", null, 1.0, false, 0, 1, "Medium", 0, 0, 0]}}'  # + brush, blend sliders
    answer = _raw_call(client.src, "transfer", body)
    assert "event: error" in answer and "Photo: images given by URL are not fetched by this app" in answer, answer


def test_missing_model_page_and_errors(tmp_path):
    import app

    demo = app.build_app(tmp_path / "no-such-model")
    with serve(demo, **app.LAUNCH_OPTIONS) as url:
        config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
        texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
        assert "No model is loaded:" in texts and "does not exist" in texts
        with pytest.raises(AppError, match="No model is loaded"):
            client = Client(url, verbose=False, analytics_enabled=False)
            client.predict("All styles", 0, 0.7, 1, api_name="/generate")


def test_importing_the_app_loads_no_model_and_demo_is_built_once(tiny_dir, monkeypatch):
    import importlib

    import gradio as gr

    import app

    app._default_demo.cache_clear()
    importlib.reload(app)
    assert app._default_demo.cache_info().currsize == 0
    monkeypatch.setenv("GANSTYLE_MODEL", str(tiny_dir))
    demo = app.demo  # what Hugging Face Spaces and `gradio app.py` read
    assert isinstance(demo, gr.Blocks) and app.demo is demo
    with pytest.raises(AttributeError, match="no attribute 'dmeo'"):
        app.dmeo


def test_a_crafted_model_folder_gives_a_page_that_says_why(tiny_dir, tmp_path):
    """A config that crashed the app at start (resolution 65536: ZeroDivisionError)."""
    import shutil

    import app

    folder = shutil.copytree(tiny_dir, tmp_path / "crafted")
    config = json.loads((folder / "generator" / "config.json").read_text())
    (folder / "generator" / "config.json").write_text(json.dumps({**config, "resolution": 65536}))
    demo = app.build_app(folder)
    with serve(demo, **app.LAUNCH_OPTIONS) as url:
        config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
        texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
        assert "No model is loaded:" in texts and "resolution must be between 1 and 2048, got 65536" in texts
        with pytest.raises(AppError, match="No model is loaded: Cannot load"):
            Client(url, verbose=False, analytics_enabled=False).predict("All styles", 0, 0.7, 1,
                                                                       api_name="/generate")
