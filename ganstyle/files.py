"""Files written whole or not at all, JSON objects read with errors that name the file, and
the error every saved-model problem raises.

A writer killed or failing halfway leaves the previous file or folder, never half of one:
everything is written to a temporary sibling that then replaces the target (`os.replace` is
atomic within one file system).
"""

import contextlib
import errno
import json
import os
from pathlib import Path


class CheckpointError(ValueError):
    """A saved model (a model folder, a Hub repo or a training checkpoint) is missing, cannot
    be read, or does not match what it should hold; the message names the file and the fix."""


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary sibling of `path` to write; when the block ends without an error it
    replaces `path`, otherwise it is removed. Its name holds the process id, so two processes
    may write the same file. (Model folders and training checkpoints swap whole folders in the
    same way: `storage/model_folder.save_export`, `training/checkpoint.save_checkpoint`.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_failure(err: Exception) -> str:
    """What went wrong writing a file, in a few words ('no space left on device', ...)."""
    text = str(err)
    if getattr(err, "errno", None) == errno.ENOSPC or "No space left" in text or "StorageFull" in text:
        return "no space left on device"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return text.splitlines()[0][:200] if text else type(err).__name__


def write_json(path, data, sort_keys: bool = True) -> Path:
    """Write `data` as indented UTF-8 JSON, atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def read_json(path) -> dict:
    """Read a JSON object; `CheckpointError` naming the file when it is missing, not JSON, or
    not an object."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return data
