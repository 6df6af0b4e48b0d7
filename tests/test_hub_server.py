"""Loading over HTTP from a Hub-compatible server on 127.0.0.1 (issue 13, point 7).

The server is olah (a Hugging Face mirror, PyPI `olah`; tests/hub_server.py) in offline mode,
serving local git repositories the way the Hub serves repos. Fresh processes with
`HF_ENDPOINT` pointing at it load models as users do: `from_pretrained(repo_id)`, `revision=`
(a tag), the default model Hub-first (one log line says so), the CLI, and a second load that
comes from the Hub cache (no file downloaded twice; it still loads once the server is gone).
olah serves downloads only, so `push_to_hub` stays covered by the mocked HfApi in test_hub.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganstyle.storage.hub import DEFAULT_MODEL, SHIPPED_MODEL

pytest.importorskip("olah", reason="the Hub-compatible test server olah is not installed (see requirements-dev.txt)")

from hub_server import hub_server, weight_downloads  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPO = "tiny-org/tiny-shapes"
V1_STYLES, MAIN_STYLES, DEFAULT_STYLES = ("circle", "square", "triangle"), ("dots", "stripes"), ("a", "b")

LOAD = """
import json, sys
from ganstyle import StylePipeline
result = {}
for name, model, revision in json.loads(sys.argv[1]):
    pipe = StylePipeline.from_pretrained(model, revision=revision)
    result[name] = {"styles": pipe.styles, "source": str(pipe.source),
                    "pixels": list(pipe.generate(pipe.styles[0], seed=3)[0].getdata())[:64]}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """REPO (tag v1, then main with other styles) and DEFAULT_MODEL, served over HTTP."""
    repos = {REPO: [(V1_STYLES, "v1"), (MAIN_STYLES, None)], DEFAULT_MODEL: [(DEFAULT_STYLES, None)]}
    with hub_server(tmp_path_factory.mktemp("hub-server"), repos) as server:
        yield server


def _run(args, endpoint, cache: Path, cwd: Path):
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent / "home"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _load(loads, endpoint, cache, cwd) -> dict:
    result = _run(["-c", LOAD, json.dumps(loads)], endpoint, cache, cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_repo_id_revision_default_and_cache_over_http(served, tmp_path):
    endpoint, log, stop = served
    cache = tmp_path / "hf-cache"
    loads = [["main", REPO, None], ["v1", REPO, "v1"], ["default", DEFAULT_MODEL, None]]
    first = _load(loads, endpoint, cache, tmp_path)
    assert first["main"]["styles"] == sorted(MAIN_STYLES) and first["v1"]["styles"] == sorted(V1_STYLES)
    for name in ("main", "v1"):
        assert first[name]["source"].startswith(str(cache / "models--tiny-org--tiny-shapes" / "snapshots"))
    # the default model came from the Hub, not from the copy shipped in checkpoints/
    assert first["default"]["styles"] == sorted(DEFAULT_STYLES)
    assert first["default"]["source"].startswith(str(cache)) and str(SHIPPED_MODEL) not in str(first)
    downloads = weight_downloads(log)
    commits = {commit for commit, _ in downloads}
    assert len(commits) == 3 and len(downloads) == len(set(downloads)) == 3 * 3  # 3 weight files per model

    second = _load(loads, endpoint, cache, tmp_path)  # server up: revisions checked, no file sent again
    assert second == first
    assert weight_downloads(log) == downloads

    # the CLI, Hub-first: no --model, so the default repo; one stderr line says where it came from
    out = tmp_path / "default.png"
    result = _run(["-m", "ganstyle", "generate", "--style", "a", "--seed", "3", "--out", str(out)], endpoint,
                  cache, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganstyle: Model:")]
    assert len(lines) == 1 and f"the Hub repo {DEFAULT_MODEL} (revision main)" in lines[0]
    assert out.is_file()

    stop()  # the Hub is gone: the same loads come from the cache
    assert _load(loads[:2], endpoint, cache, tmp_path) == {k: first[k] for k in ("main", "v1")}
    result = _run(["-m", "ganstyle", "generate", "--model", REPO, "--revision", "v2", "--out",
                   str(tmp_path / "x.png")], endpoint, cache, tmp_path)
    assert result.returncode == 2
    assert "revision v2" in result.stderr and "not in the Hugging Face cache" in result.stderr
