"""Loading and saving: local folders, the Hugging Face Hub cache (offline), save_pretrained ->
from_pretrained, push_to_hub (mocked HfApi, no network), model cards, and the errors a broken
model folder gives (issue "Pipeline", points 1 and 5)."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import traceback
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from PIL import Image

import ganstyle.storage.hub
from ganstyle import CheckpointError, StylePipeline
from ganstyle.storage.model_card import render_model_card
from tiny_model import STYLES, build_tiny_export

REPO = "tiny-org/tiny-shapes"
COMMIT_MAIN = hashlib.sha1(b"main").hexdigest()
COMMIT_V2 = hashlib.sha1(b"v2").hexdigest()
COMMIT_BROKEN = hashlib.sha1(b"broken").hexdigest()
V2_STYLES = ("dots", "stripes")
ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- helpers
def same(a, b) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def content() -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (30, 44, 3), dtype=np.uint8))


def checkpoint_error(match, fn, *args, **kwargs) -> str:
    """`fn` raises CheckpointError (a ValueError) from ganstyle itself, one line matching `match`."""
    with pytest.raises(CheckpointError, match=match) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    origin = traceback.extract_tb(info.tb)[-1].filename
    assert f"{os.sep}ganstyle{os.sep}" in origin, f"raised from {origin}: {info.value}"
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.fixture
def model_copy(tiny_dir, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_dir, tmp_path / "copy"))


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to resolve a host name or open a connection."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, *a: refuse(*a))
    return attempts


def _add_snapshot(cache: Path, repo_id: str, commit: str, folder: Path, refs=()) -> Path:
    """Put `folder` into a Hub cache the way huggingface_hub lays it out: content-addressed
    blobs, snapshots/<commit>/<path> symlinks to them, refs/<name> holding the commit."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / file.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    for ref in refs:
        (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
        (repo_dir / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, tiny_dir) -> Path:
    """A Hub cache holding REPO at two commits: main (the tiny model, with its model card) and
    tag v2 (another model with other styles), plus a commit whose snapshot lost a file."""
    root = tmp_path_factory.mktemp("hub")
    cache = root / "hub-cache"
    main = Path(shutil.copytree(tiny_dir, root / "main"))
    index = json.loads((main / "model_index.json").read_text())
    card = render_model_card({**index, "components": list(index["components"])}, REPO)
    (main / "README.md").write_text(card, encoding="utf-8")
    _add_snapshot(cache, REPO, COMMIT_MAIN, main, refs=("main",))
    _add_snapshot(cache, REPO, COMMIT_V2, build_tiny_export(root / "v2", styles=V2_STYLES), refs=("v2",))
    broken = Path(shutil.copytree(tiny_dir, root / "broken"))
    (broken / "generator" / "model.safetensors").unlink()
    _add_snapshot(cache, REPO, COMMIT_BROKEN, broken)
    return cache


@pytest.fixture
def offline(monkeypatch, hub_cache, no_network):
    """HF_HUB_OFFLINE=1 and HF_HUB_CACHE pointing at the pre-filled cache. huggingface_hub reads
    both at import time, so its constants are patched as well as the environment."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub_cache))
    assert huggingface_hub.is_offline_mode()
    return no_network


@pytest.fixture
def hub_calls(monkeypatch):
    """Spy on the snapshot_download that ganstyle.storage.hub calls (the real function still runs)."""
    calls = []
    real = ganstyle.storage.hub.snapshot_download

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(ganstyle.storage.hub, "snapshot_download", spy)
    return calls


# ----------------------------------------------------------------------------- Hub cache, offline
def test_repo_id_loads_from_the_offline_cache(offline, hub_calls, hub_cache, pipe):
    loaded = StylePipeline.from_pretrained(REPO)
    assert [c["repo_id"] for c in hub_calls] == [REPO]  # the Hub code path, not a local folder
    assert loaded.source == hub_cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT_MAIN
    assert loaded.styles == list(STYLES) and loaded.resolution == 32
    assert same(loaded.generate("square", n=2, seed=8)[1], pipe.generate("square", seed=9)[0])
    assert same(loaded.transfer(content(), style="circle", seed=2)[0],
                pipe.transfer(content(), style="circle", seed=2)[0])
    assert offline == [], f"network was attempted: {offline}"


def test_revision_hash_and_tag_select_other_snapshots(offline, hub_calls):
    for revision in (COMMIT_V2, "v2"):
        other = StylePipeline.from_pretrained(REPO, revision=revision)
        assert other.styles == list(V2_STYLES)
        assert other.generate("dots", seed=0)[0].size == (32, 32)
    assert StylePipeline.from_pretrained(REPO, revision=COMMIT_MAIN).styles == list(STYLES)
    assert [c["revision"] for c in hub_calls] == [COMMIT_V2, "v2", COMMIT_MAIN]
    assert offline == []


def test_local_files_only_with_cache_dir(hub_cache, no_network, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    loaded = StylePipeline.from_pretrained(REPO, local_files_only=True, cache_dir=hub_cache)
    assert loaded.styles == list(STYLES)
    assert StylePipeline.from_pretrained(REPO, revision="v2", local_files_only=True,
                                         cache_dir=str(hub_cache)).styles == list(V2_STYLES)
    checkpoint_error("not in the Hugging Face cache", StylePipeline.from_pretrained, "tiny-org/absent",
                     local_files_only=True, cache_dir=hub_cache)
    assert no_network == []


def test_repo_not_in_cache_says_so(offline):
    message = checkpoint_error("not in the Hugging Face cache", StylePipeline.from_pretrained, "tiny-org/absent")
    assert "tiny-org/absent" in message and "HF_HUB_OFFLINE" in message
    missing = "0" * 40
    message = checkpoint_error("not in the Hugging Face cache", StylePipeline.from_pretrained, REPO,
                               revision=missing)
    assert missing in message
    checkpoint_error("revision v9.*not in the Hugging Face cache", StylePipeline.from_pretrained, REPO,
                     revision="v9")
    assert offline == []


def test_incomplete_cached_snapshot_names_the_missing_file(offline):
    message = checkpoint_error("model.safetensors is missing", StylePipeline.from_pretrained, REPO,
                               revision=COMMIT_BROKEN)
    assert str(Path("generator") / "model.safetensors") in message


@pytest.mark.parametrize("model, match", [
    ("not a repo id!", "neither an existing folder nor a valid Hub repo id"),
    ("./no-such-folder", "does not exist"),
    ("some/deep/folder", "does not exist"),
    ("/no/such/absolute/folder", "does not exist"),
])
def test_neither_folder_nor_repo_id(offline, model, match):
    checkpoint_error(match, StylePipeline.from_pretrained, model)


def test_cli_loads_a_repo_id_offline_from_env(hub_cache, pipe, tmp_path):
    """The real thing: a fresh process that only has HF_HUB_OFFLINE=1 and HF_HUB_CACHE set."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache), "HF_HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "offline.png"
    result = subprocess.run([sys.executable, "-m", "ganstyle", "generate", "--model", REPO, "--style", "triangle",
                             "--seed", "5", "--out", str(out)], env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert same(Image.open(out).convert("RGB"), pipe.generate("triangle", seed=5, size=256)[0])  # CLI default size


# ----------------------------------------------------------------------------- broken folders
def _edit_json(path: Path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_missing_files_are_named(model_copy):
    (model_copy / "generator" / "model.safetensors").unlink()
    message = checkpoint_error("missing", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "generator" / "model.safetensors") in message
    (model_copy / "translator" / "config.json").unlink()
    shutil.rmtree(model_copy / "generator")
    message = checkpoint_error("missing", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "generator" / "config.json") in message
    (model_copy / "model_index.json").unlink()
    message = checkpoint_error("missing", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "model_index.json") in message


def test_pickle_weights_are_refused_without_unpickling(model_copy, monkeypatch):
    weights = model_copy / "generator" / "model.safetensors"
    from safetensors.torch import load_file

    torch.save(load_file(str(weights)), model_copy / "generator" / "pytorch_model.bin")
    weights.unlink()

    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load must never be called")

    monkeypatch.setattr(torch, "load", no_pickle)
    message = checkpoint_error("missing", StylePipeline.from_pretrained, model_copy)
    assert str(weights) in message


def test_unknown_format_version_is_named(model_copy):
    _edit_json(model_copy / "model_index.json", format_version=99)
    message = checkpoint_error("format_version 99", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "model_index.json") in message


def test_config_that_does_not_match_the_weights_is_named(model_copy):
    _edit_json(model_copy / "generator" / "config.json", max_channels=64)
    message = checkpoint_error("does not match", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "generator" / "model.safetensors") in message
    assert str(model_copy / "generator" / "config.json") in message


def test_style_count_that_does_not_match_the_index_is_named(model_copy):
    _edit_json(model_copy / "model_index.json", styles=["circle", "square", "triangle", "hexagon"])
    message = checkpoint_error("3 styles but", StylePipeline.from_pretrained, model_copy)
    assert str(model_copy / "generator" / "config.json") in message and "model_index.json" in message


@pytest.mark.parametrize("breakage, match, file", [
    ("corrupt weights", "cannot be read as safetensors", "translator/model.safetensors"),
    ("bad json", "not valid JSON", "model_index.json"),
    ("unknown component", "unknown or no components", "model_index.json"),
    ("unknown config field", "unknown fields", "translator/config.json"),
])
def test_other_broken_folders_are_named(model_copy, breakage, match, file):
    path = model_copy / file
    if breakage == "corrupt weights":
        path.write_bytes(b"\x00" * 64)
    elif breakage == "bad json":
        path.write_text("{not json")
    elif breakage == "unknown component":
        _edit_json(path, components={"generator": "StyleGenerator", "vae": "AutoEncoder"})
    else:
        _edit_json(path, colour_depth=3)
    assert str(path) in checkpoint_error(match, StylePipeline.from_pretrained, model_copy)


# ----------------------------------------------------------------------------- save / push
def test_save_pretrained_round_trip(pipe, tmp_path):
    pipe.info["metrics"] = {"fid": 12.5}
    try:
        folder = pipe.save_pretrained(tmp_path / "saved")
    finally:
        del pipe.info["metrics"]
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == sorted(["README.md", "model_index.json", "generator/config.json", "generator/model.safetensors",
                            "translator/config.json", "translator/model.safetensors",
                            "style_classifier/config.json", "style_classifier/model.safetensors"])
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]

    loaded = StylePipeline.from_pretrained(folder)
    assert loaded.styles == pipe.styles and loaded.resolution == pipe.resolution
    assert loaded.info["training"] == {"steps": 0, "data": "synthetic"}
    assert loaded.info["metrics"] == {"fid": 12.5}
    assert all(same(a, b) for a, b in zip(loaded.generate("random", n=3, seed=1), pipe.generate("random", n=3, seed=1)))
    assert same(loaded.transfer(content(), style="triangle", seed=4)[0],
                pipe.transfer(content(), style="triangle", seed=4)[0])
    assert same(loaded.mix(("circle", 1), ("square", 2), crossover=3),
                pipe.mix(("circle", 1), ("square", 2), crossover=3))
    card = (folder / "README.md").read_text()
    assert "circle, square, triangle" in card and "32x32" in card and "fid" in card and "12.5" in card

    again = loaded.save_pretrained(folder)  # overwriting a model folder is fine
    assert StylePipeline.from_pretrained(again).styles == list(STYLES)


def test_save_pretrained_of_one_component(tmp_path):
    only_g = StylePipeline.from_pretrained(build_tiny_export(tmp_path / "g", components=("generator",)))
    folder = only_g.save_pretrained(tmp_path / "saved")
    assert not (folder / "translator").exists()
    loaded = StylePipeline.from_pretrained(folder)
    assert loaded.translator is None
    assert same(loaded.generate("circle", seed=3)[0], only_g.generate("circle", seed=3)[0])
    assert "(generator)" in (folder / "README.md").read_text()


def test_save_pretrained_refuses_to_wipe_an_unrelated_folder(pipe, tmp_path):
    folder = tmp_path / "my-photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(ValueError, match="not a ganstyle model folder"):
        pipe.save_pretrained(folder)
    assert (folder / "holiday.jpg").read_bytes() == b"precious"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (pipe.save_pretrained(empty) / "model_index.json").is_file()


def test_save_pretrained_into_its_own_folder_keeps_the_card(model_copy):
    (model_copy / "README.md").write_text("# Hand-written card\n")
    own = StylePipeline.from_pretrained(model_copy)
    expected = own.generate("square", seed=2)[0]
    own.save_pretrained(model_copy)
    assert (model_copy / "README.md").read_text() == "# Hand-written card\n"
    assert same(StylePipeline.from_pretrained(model_copy).generate("square", seed=2)[0], expected)


class FakeHfApi:
    """Stands in for huggingface_hub.HfApi: records calls, keeps a copy of uploaded folders."""

    calls = []
    uploads = {}

    def __init__(self, token=None, **kwargs):
        self.token = token

    def create_repo(self, repo_id, private=False, exist_ok=False, **kwargs):
        FakeHfApi.calls.append(("create_repo", repo_id, private, exist_ok, self.token))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, repo_id, folder_path, commit_message=None, **kwargs):
        FakeHfApi.calls.append(("upload_folder", repo_id, commit_message))
        target = FakeHfApi.root / repo_id.replace("/", "--")
        shutil.copytree(folder_path, target)
        FakeHfApi.uploads[repo_id] = (target, folder_path)
        return f"https://huggingface.co/{repo_id}/commit/0123abc"


@pytest.fixture
def fake_hub(monkeypatch, tmp_path, no_network):
    FakeHfApi.calls, FakeHfApi.uploads, FakeHfApi.root = [], {}, tmp_path / "uploaded"
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    yield FakeHfApi
    assert no_network == []


def test_push_to_hub_uploads_model_and_card(pipe, fake_hub):
    url = pipe.push_to_hub("me/tiny-shapes", private=True, token="hf_test")
    assert url == "https://huggingface.co/me/tiny-shapes/commit/0123abc"
    assert fake_hub.calls[0] == ("create_repo", "me/tiny-shapes", True, True, "hf_test")
    assert fake_hub.calls[1][:2] == ("upload_folder", "me/tiny-shapes")
    uploaded, temporary = fake_hub.uploads["me/tiny-shapes"]
    assert not Path(temporary).exists()  # the staging folder is cleaned up
    for name in ("model_index.json", "generator/model.safetensors", "translator/model.safetensors",
                 "generator/config.json", "translator/config.json", "README.md"):
        assert (uploaded / name).is_file(), name
    card = (uploaded / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: ganstyle" in card
    assert "# me/tiny-shapes" in card and "from_pretrained('me/tiny-shapes')" in card
    assert "**Styles:** circle, square, triangle" in card
    assert "32x32 px" in card
    assert "- data: synthetic" in card
    assert "Not measured yet" in card
    reloaded = StylePipeline.from_pretrained(uploaded)
    assert same(reloaded.generate("circle", seed=1)[0], pipe.generate("circle", seed=1)[0])


def test_push_to_hub_card_lists_metrics_when_known(tiny_dir, fake_hub):
    with_metrics = StylePipeline.from_pretrained(tiny_dir)
    with_metrics.info["metrics"] = {"fid_circle": 41.2, "style_hit_rate": 0.93}
    with_metrics.push_to_hub("me/with-metrics")
    card = (fake_hub.uploads["me/with-metrics"][0] / "README.md").read_text()
    assert "| fid_circle | 41.2 |" in card and "| style_hit_rate | 0.93 |" in card
    assert "Not measured" not in card


def test_render_model_card_fields():
    card = render_model_card({"styles": ["a", "b"], "resolution": 64, "components": ["translator"],
                              "training": {"images": 1200, "data": "wikiart subset"}, "metrics": {"kid": 0.01}})
    assert "(translator) at 64x64 px" in card and "**Styles:** a, b" in card
    assert "- data: wikiart subset" in card and "- images: 1200" in card and "| kid | 0.01 |" in card
    bare = render_model_card({"styles": ["a", "b"], "resolution": 64, "components": ["generator"]})
    assert "Not recorded." in bare and "Not measured yet" in bare


def test_default_model_is_the_environment_or_the_hub_repo_or_its_shipped_copy(monkeypatch, tmp_path, offline):
    hub = ganstyle.storage.hub
    monkeypatch.setenv("GANSTYLE_MODEL", "someone/model")
    assert hub.default_model() == "someone/model"
    monkeypatch.delenv("GANSTYLE_MODEL")
    assert hub.default_model() == hub.DEFAULT_MODEL  # a Hub repo id
    monkeypatch.setattr(hub, "SHIPPED_MODEL", tmp_path)
    assert hub.resolve_model(hub.DEFAULT_MODEL) == tmp_path  # offline: the shipped copy
    with pytest.raises(CheckpointError, match="revision v2"):  # a revision asked for is never replaced by it
        hub.resolve_model(hub.DEFAULT_MODEL, revision="v2")
    monkeypatch.setattr(hub, "SHIPPED_MODEL", tmp_path / "absent")
    with pytest.raises(CheckpointError, match="no model given, no copy of the default model at .*GANSTYLE_MODEL"):
        hub.resolve_model(hub.DEFAULT_MODEL)
