"""app_guard: the per-client queue limit, the output folders' lifetime, memory release."""

import asyncio
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest

pytest.importorskip("gradio")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app_guard.py lives at the root, beside app.py
    sys.path.insert(0, str(ROOT))
import app_guard  # noqa: E402


def fake_demo(waiting: dict):
    """A stand-in for a Blocks whose queue holds `waiting` = {concurrency id: [session, ...]}."""
    pushed = []

    async def push(body, request, username):
        pushed.append(body.session_hash)
        return True, "queued", "success"

    queues = {cid: types.SimpleNamespace(queue=[types.SimpleNamespace(session_hash=s) for s in sessions])
              for cid, sessions in waiting.items()}
    queue = types.SimpleNamespace(push=push, event_queue_per_concurrency_id=queues)
    return types.SimpleNamespace(_queue=queue), pushed


def test_a_client_with_enough_requests_waiting_is_refused_and_others_are_not():
    demo, pushed = fake_demo({"model": ["hog", "a", "hog"], "heavy": ["hog"]})
    app_guard.limit_waiting_per_client(demo, limit=3)
    push = demo._queue.push
    ok, message, status = asyncio.run(push(types.SimpleNamespace(session_hash="hog"), None, None))
    assert (ok, status) == (False, "queue_full") and "You already have 3 requests waiting" in message
    assert asyncio.run(push(types.SimpleNamespace(session_hash="a"), None, None))[0]
    assert asyncio.run(push(types.SimpleNamespace(session_hash="new"), None, None))[0]
    assert pushed == ["a", "new"]


def test_output_folders_of_dead_processes_are_swept_and_ours_removed_at_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "ganstyle-app-999999999-abc"  # no such process
    dead.mkdir()
    (dead / "out.png").write_bytes(b"x" * 1000)
    alive = tmp_path / f"ganstyle-app-{os.getppid()}-def"  # a running process: kept
    alive.mkdir()
    old_style = tmp_path / "ganstyle-app-xyz"  # older naming, touched recently: kept
    old_style.mkdir()
    folder = app_guard.output_folder()
    assert folder.name.startswith(f"ganstyle-app-{os.getpid()}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, old_style.name, folder.name])
    os.utime(old_style, (0, 0))  # untouched for decades: swept
    app_guard.output_folder()
    assert not old_style.exists()
    script = f"import tempfile; tempfile.tempdir = {str(tmp_path)!r}; import app_guard; print(app_guard.output_folder())"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert not Path(done.stdout.strip()).exists()  # removed when its process exited


def test_release_memory_hands_freed_heap_back(one_thread):
    psutil = pytest.importorskip("psutil")
    process = psutil.Process()
    app_guard.release_memory()
    idle = process.memory_info().rss
    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # 256 MB in small blocks (below mmap's threshold)
    pin = blocks[-1]  # still in use at the top of the heap, as after a request: free() alone keeps the rest
    del blocks
    app_guard.release_memory()
    assert process.memory_info().rss - idle < 64 * 2**20
    del pin
