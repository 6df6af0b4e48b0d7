"""Finding model folders locally or on the Hugging Face Hub.

`resolve_model` turns what a user typed (a folder or a repo id) into a local folder,
through the Hub cache; it honours `HF_HUB_OFFLINE=1` and `local_files_only`, and turns the
Hub's errors into one `CheckpointError` that says what to do.

The default model is a Hub repo (`DEFAULT_MODEL`); this repository ships a copy of it
(`SHIPPED_MODEL`), which is used when the Hub cannot be reached or does not have the repo, so
the app, the CLI and the notebook work offline. One log line says which of the two was used.
"""

import logging
import os
from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import (
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from ..files import CheckpointError

logger = logging.getLogger(__name__)

ALLOW_PATTERNS = ["*.json", "*.safetensors", "README.md", "*.png"]
# The default model: a Hub repo id, tried first by the app, the CLI and the notebook.
DEFAULT_MODEL = "ganstyle/ganstyle-styles"
# The copy of the default model shipped in this repository, used when the Hub cannot give it.
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "ganstyle-styles-256"


def default_model() -> str:
    """The model to load when none is named: $GANSTYLE_MODEL (a folder or a Hub repo id) when
    set, else DEFAULT_MODEL (the Hub repo, which `resolve_model` replaces by SHIPPED_MODEL when
    the Hub cannot give it; when neither can be had, loading says so)."""
    return os.environ.get("GANSTYLE_MODEL") or DEFAULT_MODEL


def _is_path(text: str) -> bool:
    """True when `text` can only mean a local folder: it starts with `.`, `/` or `~`, or has a
    backslash or more than one slash (a Hub repo id is `name` or `owner/name`)."""
    return text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text


def resolve_model(model, revision=None, local_files_only=False, cache_dir=None, token=None) -> Path:
    """Local folder holding the model: `model` itself when it is a folder (a relative path is
    taken from the working directory), otherwise the snapshot of the Hub repo `model`
    (downloaded, or taken from the cache when offline). `DEFAULT_MODEL` falls back to
    `SHIPPED_MODEL` when the Hub cannot give it (and no `revision` was asked for).

    Refuses (CheckpointError) a folder that does not exist, naming the absolute path it looked
    for, and a repo the Hub and its cache do not have, saying which of the two and why."""
    path = Path(model).expanduser()
    text = str(model)
    shown = text if len(text) <= 200 else f"{text[:100]}... ({len(text):,} characters)"
    try:
        if path.is_dir():
            return path.resolve()
        local_parent = len(path.parts) > 1 and path.parent.is_dir()
    except (OSError, ValueError):  # a name the OS refuses (too long, NUL byte): not a folder
        raise CheckpointError(f"model folder {shown} does not exist") from None
    if _is_path(text):
        raise CheckpointError(f"model folder {shown} does not exist (looked in {Path.cwd()})")
    if local_parent and text != DEFAULT_MODEL:  # `runs/export` with a local `runs/`: a missing folder
        raise CheckpointError(f"model folder {shown} does not exist ({path.parent} is a local folder, so it is "
                              "not taken for a Hub repo id)")
    try:
        validate_repo_id(text)
    except HFValidationError:
        raise CheckpointError(f"{shown!r} is neither an existing folder nor a valid Hub repo id "
                              f"(looked in {Path.cwd()})") from None
    try:
        folder = _download(text, revision, local_files_only, cache_dir, token)
    except CheckpointError as err:
        if text == DEFAULT_MODEL and revision is None and SHIPPED_MODEL.is_dir():
            logger.warning("Model: the shipped folder %s (the Hub repo %s could not be loaded: %s)",
                           SHIPPED_MODEL, text, err)
            return SHIPPED_MODEL
        if text == DEFAULT_MODEL:
            raise CheckpointError(f"no model given, no copy of the default model at {SHIPPED_MODEL}, and {err} "
                                  "Name an export folder or a Hugging Face Hub repo id (--model, or the "
                                  "GANSTYLE_MODEL environment variable).") from None
        # `mine/model` may be a folder or a repo id: say that neither was found
        raise CheckpointError(f"no model folder {shown} in {Path.cwd()} and no Hub model: {err}") from None
    logger.info("Model: the Hub repo %s (revision %s) from %s", text, revision or "main", folder)
    return folder


def _download(repo_id, revision, local_files_only, cache_dir, token) -> Path:
    """Snapshot folder of a Hub repo, with the Hub's errors turned into one CheckpointError."""
    try:
        return Path(snapshot_download(
            repo_id=repo_id, revision=revision, allow_patterns=ALLOW_PATTERNS,
            local_files_only=local_files_only, cache_dir=cache_dir, token=token,
        ))
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"{repo_id!r} is not a local folder, and as a Hub repo id (revision {revision or 'main'}) it is "
            "not in the Hugging Face cache and the Hub "
            "cannot be reached (offline, HF_HUB_OFFLINE=1 or local_files_only). Download it once "
            "online, or pass a local folder."
        ) from None
    except RevisionNotFoundError:
        raise CheckpointError(f"the Hub repo {repo_id!r} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise CheckpointError(f"no Hub repo {repo_id!r} (or it is private: log in with `hf auth login`)") from None
