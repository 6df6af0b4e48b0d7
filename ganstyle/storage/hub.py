"""Finding model folders locally or on the Hugging Face Hub.

`resolve_model` turns what a user typed (a folder or a repo id) into a local folder,
through the Hub cache; it honours `HF_HUB_OFFLINE=1` and `local_files_only`, and turns the
Hub's errors into one `CheckpointError` that says what to do.
"""

import os
from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import (
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..files import CheckpointError

ALLOW_PATTERNS = ["*.json", "*.safetensors", "README.md", "*.png"]
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "ganstyle-styles-64"
"""The shipped checkpoint: what the app, the CLI and the notebook load when no model is named."""


def default_model():
    """The model to load when none is named: $GANSTYLE_MODEL (a folder or a Hub repo id) when
    set, else the shipped checkpoint DEFAULT_MODEL. Refuses (`CheckpointError`) when neither
    is there, saying how to name one."""
    named = os.environ.get("GANSTYLE_MODEL")
    if named:
        return named
    if not DEFAULT_MODEL.is_dir():
        raise CheckpointError(f"no model given and no default checkpoint at {DEFAULT_MODEL}: name an export folder "
                              "or a Hugging Face Hub repo id (--model, or the GANSTYLE_MODEL environment variable)")
    return DEFAULT_MODEL


def resolve_model(model, revision=None, local_files_only=False, cache_dir=None, token=None) -> Path:
    """Local folder holding the model: `model` itself when it is a folder, otherwise the
    snapshot of the Hub repo `model` (downloaded, or taken from the cache when offline)."""
    path = Path(model).expanduser()
    text = str(model)
    shown = text if len(text) <= 200 else f"{text[:100]}... ({len(text):,} characters)"
    try:
        if path.is_dir():
            return path
        local_parent = len(path.parts) > 1 and path.parent.is_dir()
    except (OSError, ValueError):  # a name the OS refuses (too long, NUL byte): not a folder
        raise CheckpointError(f"model folder {shown} does not exist") from None
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        raise CheckpointError(f"model folder {shown} does not exist")
    if local_parent:  # `runs/export` with a local `runs/`: a folder that is missing, not a Hub repo
        raise CheckpointError(f"model folder {shown} does not exist ({path.parent} is a local folder, so it is "
                              "not taken for a Hub repo id)")
    try:
        return Path(snapshot_download(
            repo_id=text, revision=revision, allow_patterns=ALLOW_PATTERNS,
            local_files_only=local_files_only, cache_dir=cache_dir, token=token,
        ))
    except HFValidationError:
        raise CheckpointError(f"{model!r} is neither an existing folder nor a valid Hub repo id") from None
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"{model!r} is not a local folder, and as a Hub repo id (revision {revision or 'main'}) it is "
            "not in the Hugging Face cache and the Hub "
            "cannot be reached (offline, HF_HUB_OFFLINE=1 or local_files_only). Download it once "
            "online, or pass a local folder."
        ) from None
    except RevisionNotFoundError:
        raise CheckpointError(f"the Hub repo {model!r} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise CheckpointError(f"no Hub repo {model!r} (or it is private: log in with `hf auth login`)") from None
