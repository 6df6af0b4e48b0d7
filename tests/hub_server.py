"""A Hugging Face Hub-compatible server on 127.0.0.1, for tests that load models over HTTP.

The server is olah (a Hub mirror, PyPI `olah`) in offline mode, serving local git
repositories from its `mirrors-path` the way the Hub serves repos: `/api/models/<repo>/revision/
<rev>`, `/api/models/<repo>/tree/...`, `/<repo>/resolve/<rev>/<file>`. It reaches no other
host. Point `HF_ENDPOINT` at the endpoint it yields. It serves downloads only (no uploads).
"""

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tiny_model import build_tiny_export


def _git(folder: Path, *args):
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=folder,
                   check=True, capture_output=True)


def mirror_repo(mirrors: Path, repo_id: str, versions) -> None:
    """A git repository at MIRRORS/models/<repo_id> with one commit of a tiny model per
    (styles, tag or None) in `versions`, in order (the last one is `main`)."""
    folder = mirrors / "models" / repo_id
    folder.mkdir(parents=True)
    _git(folder, "init", "-q", "-b", "main")
    for k, (styles, tag) in enumerate(versions):
        for old in [p for p in folder.iterdir() if p.name != ".git"]:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        export = build_tiny_export(mirrors.parent / "exports" / repo_id / str(k), styles=styles)
        shutil.copytree(export, folder, dirs_exist_ok=True)
        _git(folder, "add", "-A")
        _git(folder, "commit", "-q", "-m", f"styles {', '.join(styles)}")
        if tag:
            _git(folder, "tag", tag)


def weight_downloads(log: Path) -> list:
    """(commit, path) of every .safetensors file the server sent (GET on /resolve/)."""
    return re.findall(r'"GET /[^ ]+/resolve/([0-9a-f]{40})/([^ ]+\.safetensors) HTTP', log.read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def hub_server(root: Path, repos: dict, timeout: float = 60):
    """olah on a free port of 127.0.0.1 serving `repos` ({repo_id: versions}, as `mirror_repo`
    takes them), with its files under ROOT. Yields (endpoint, log file, stop function)."""
    for repo_id, versions in repos.items():
        mirror_repo(root / "mirrors", repo_id, versions)
    port = _free_port()
    config = root / "configs.toml"
    config.write_text(f"""[basic]
host = "127.0.0.1"
port = {port}
repos-path = "{root / 'repos'}"
mirror-scheme = "http"
mirror-netloc = "127.0.0.1:{port}"
mirror-lfs-netloc = "127.0.0.1:{port}"
mirrors-path = ["{root / 'mirrors'}"]

[accessibility]
offline = true
""")
    log = root / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-c", "from olah.server import cli; cli()", "-c", str(config),
                                   "--log-path", str(root / "logs")], cwd=root, stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"

    def stop():
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)

    try:
        first = next(iter(repos))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/api/models/{first}/revision/main", timeout=5) as response:
                    assert json.load(response)["id"] == first
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"olah did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield endpoint, log, stop
    finally:
        stop()
