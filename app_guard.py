"""What keeps the web app bounded whatever clients send: image checks before Gradio decodes
anything, a per-client limit on waiting requests, memory handed back after each model
call, and output folders that do not outlive the app.

`app.py` wires these in; they know nothing about styles or models.
"""

import atexit
import base64
import binascii
import contextlib
import ctypes
import ctypes.util
import gc
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr
from PIL import Image

from ganstyle.imageio import ImageError, check_image_file

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest image file accepted, however it arrives (upload, URL, data: URL, API)."""
MAX_WAITING_PER_CLIENT = int(os.environ.get("GANSTYLE_MAX_WAITING_PER_CLIENT", "2"))
"""Requests one client (browser tab or gradio_client session) may have waiting in the queue."""
FOLDER_PREFIX = "ganstyle-app-"


def guard_image_input(component: gr.Image, label: str, folder: Path) -> gr.Image:
    """Check every image that reaches `component` before Gradio decodes it: size in bytes,
    then the header (pixels, aspect ratio, pixels per byte; see ganstyle.imageio). A `data:`
    URL is decoded from base64 here (Gradio would decode the whole image and re-encode it)
    and handed on as a file in `folder`; an http(s) URL is refused before Gradio downloads
    it. Anything Pillow cannot read is a gr.Error naming `label`. The checks wrap this one
    component's methods: a gr.Image subclass would make Gradio write an app.pyi stub beside
    app.py."""
    read = component.preprocess

    def preprocess(payload):
        if payload is None:
            return None
        try:
            if payload.url and payload.url.startswith("data:"):
                return _data_url_file(payload.url, label, folder)
            if payload.path:
                size = os.path.getsize(payload.path)
                if size > MAX_UPLOAD_BYTES:
                    raise ImageError(_too_big(label, size))
                check_image_file(payload.path, label)
            return read(payload)
        except gr.Error:
            raise
        except ImageError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Image.DecompressionBombError:
            raise gr.Error(f"{label}: the image is too large to open safely; downscale it first.",
                           print_exception=False) from None
        except Exception:
            raise gr.Error(f"{label}: the file is not an image that can be read (PNG, JPEG, WebP...).",
                           print_exception=False) from None

    component.preprocess = preprocess
    move = component.async_move_resource_to_block_cache

    async def move_local_only(url_or_file_path):
        # Gradio would download an http(s) URL whole, with no size limit, before any check
        # could run; the page never sends one (its sources are upload and clipboard).
        if isinstance(url_or_file_path, str) and url_or_file_path.lower().startswith(("http://", "https://")):
            raise gr.Error(f"{label}: images given by URL are not fetched by this app; upload the file "
                           f"(up to {MAX_UPLOAD_BYTES / 2**20:.0f} MB) instead.", print_exception=False)
        return await move(url_or_file_path)

    component.async_move_resource_to_block_cache = move_local_only
    return component


def _too_big(label: str, size: int) -> str:
    return (f"{label}: the file is {size / 2**20:.1f} MB; this app accepts images up to "
            f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB.")


def _data_url_file(url: str, label: str, folder: Path) -> str:
    """The image of a base64 `data:` URL, checked, as a file in `folder`."""
    header, _, encoded = url.partition(",")
    if not header.endswith(";base64"):
        raise ImageError(f"{label}: a data: URL must hold base64 image data")
    if len(encoded) * 3 // 4 > MAX_UPLOAD_BYTES:
        raise ImageError(_too_big(label, len(encoded) * 3 // 4))
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{label}: the data: URL is not valid base64") from None
    check_image_file(data, label)
    path = folder / f"upload-{uuid.uuid4().hex[:12]}{_suffix(header)}"
    path.write_bytes(data)
    return str(path)


def _suffix(header: str) -> str:
    match = re.match(r"data:image/([a-z0-9.+-]+);", header)
    kind = match.group(1) if match else "bin"
    return "." + {"jpeg": "jpg", "svg+xml": "svg"}.get(kind, kind)[:8]


def limit_waiting_per_client(demo: gr.Blocks, limit: int = MAX_WAITING_PER_CLIENT) -> None:
    """Refuse a new request from a client (session) that already has `limit` requests
    waiting, so one client cannot fill the queue and keep everyone else waiting. Wraps the
    queue's `push` (Gradio has no per-client limit of its own); call after `demo.queue()`."""
    queue = demo._queue
    push = queue.push

    async def push_limited(body, request, username):
        session = getattr(body, "session_hash", None)
        if session is not None:
            waiting = sum(1 for events in queue.event_queue_per_concurrency_id.values()
                          for event in events.queue if event.session_hash == session)
            if waiting >= limit:
                return (False, f"You already have {waiting} requests waiting; send more when one has finished.",
                        "queue_full")
        return await push(body, request, username)

    queue.push = push_limited


_libc = ctypes.CDLL(ctypes.util.find_library("c")) if ctypes.util.find_library("c") else None


def release_memory() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc keeps it
    otherwise: after heavy requests the app's resident memory stayed ~2x its idle size)."""
    gc.collect()
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)


def output_folder() -> Path:
    """A new folder for this app's output files, named after this process, removed when the
    process exits normally; folders of app processes that no longer run (killed, crashed)
    are removed first."""
    root = Path(tempfile.gettempdir())
    for old in root.glob(f"{FOLDER_PREFIX}*"):
        match = re.match(rf"{FOLDER_PREFIX}(\d+)-", old.name)
        with contextlib.suppress(OSError):
            # folders named without a process id (older versions): only when untouched for a day
            stale = not _running(int(match.group(1))) if match else old.stat().st_mtime < time.time() - 86400
            if old.is_dir() and stale:
                shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _shorten(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def guard_choice(component: gr.Dropdown | gr.Radio) -> gr.Dropdown | gr.Radio:
    """A Dropdown or Radio whose refusal of a value outside the choices is short and logs
    nothing (Gradio's own quotes the value whole and logs a traceback: a 100 kB "style" was
    logged twice)."""
    read = component.preprocess

    def preprocess(payload):
        try:
            return read(payload)
        except gr.Error:
            choices = ", ".join(str(value) for _, value in component.choices)
            raise gr.Error(f"{component.label}: {_shorten(payload)} is not in the list of choices ({choices}).",
                           print_exception=False) from None

    component.preprocess = preprocess
    return component


def guard_whole_number(component: gr.Number) -> gr.Number:
    """A gr.Number whose value must be a whole number: NaN, infinity or text sent through
    the API get a message (Gradio's own conversion failed with an empty error)."""
    read = component.preprocess

    def preprocess(payload):
        try:
            value = read(payload)
        except gr.Error:
            raise
        except Exception:
            value = float("nan")
        if value is not None and (not isinstance(value, (int, float)) or value != value
                                  or value in (float("inf"), float("-inf")) or value != int(value)):
            raise gr.Error(f"{component.label} must be a whole number, got {_shorten(payload)}.",
                           print_exception=False)
        return value

    component.preprocess = preprocess
    return component
