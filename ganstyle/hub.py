"""Finding model folders locally or on the Hugging Face Hub, and writing model cards.

`resolve_model` turns what a user typed (a folder or a repo id) into a local folder,
through the Hub cache; it honours `HF_HUB_OFFLINE=1` and `local_files_only`, and turns the
Hub's errors into one `CheckpointError` that says what to do.
"""

from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import (
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .modeling import CheckpointError

ALLOW_PATTERNS = ["*.json", "*.safetensors", "README.md", "*.png"]
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "ganstyle-styles-64"


def resolve_model(model, revision=None, local_files_only=False, cache_dir=None, token=None) -> Path:
    """Local folder holding the model: `model` itself when it is a folder, otherwise the
    snapshot of the Hub repo `model` (downloaded, or taken from the cache when offline)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    text = str(model)
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        raise CheckpointError(f"model folder {model} does not exist")
    try:
        return Path(snapshot_download(
            repo_id=text, revision=revision, allow_patterns=ALLOW_PATTERNS,
            local_files_only=local_files_only, cache_dir=cache_dir, token=token,
        ))
    except HFValidationError:
        raise CheckpointError(f"{model!r} is neither an existing folder nor a valid Hub repo id") from None
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"{model!r} (revision {revision or 'main'}) is not in the Hugging Face cache and the Hub "
            "cannot be reached (offline, HF_HUB_OFFLINE=1 or local_files_only). Download it once "
            "online, or pass a local folder."
        ) from None
    except RevisionNotFoundError:
        raise CheckpointError(f"the Hub repo {model!r} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise CheckpointError(f"no Hub repo {model!r} (or it is private: log in with `hf auth login`)") from None


def render_model_card(index: dict, repo_id: str = None) -> str:
    """A README.md for a model folder: front matter for the Hub, styles, resolution, training
    data and metrics when the index carries them."""
    training = index.get("training", {})
    metrics = index.get("metrics")
    components = ", ".join(index["components"])
    lines = [
        "---",
        "library_name: ganstyle",
        "license: apache-2.0",
        "tags: [gan, stylegan2, stargan-v2, style-transfer, image-generation]",
        "pipeline_tag: image-to-image",
        "---",
        "",
        f"# {repo_id or 'ganstyle model'}",
        "",
        f"A [ganstyle](https://github.com/ganstyle/ganstyle) model ({components}) at "
        f"{index['resolution']}x{index['resolution']} px.",
        "",
        f"**Styles:** {', '.join(index['styles'])}",
        "",
        "```python",
        "from ganstyle import StylePipeline",
        f"pipe = StylePipeline.from_pretrained({(repo_id or 'path/to/folder')!r})",
        f"images = pipe.generate({index['styles'][-1]!r}, n=4, seed=0)",
        "```",
        "",
        "## Training",
        "",
    ]
    if training:
        lines += [f"- {key}: {value}" for key, value in sorted(training.items())]
    else:
        lines.append("Not recorded.")
    lines += ["", "## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in sorted(metrics.items())]
    else:
        lines.append("Not measured yet (`ganstyle evaluate`).")
    return "\n".join(lines) + "\n"
