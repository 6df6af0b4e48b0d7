"""The inference folder: the only format the pipeline, app and CLI load.

    export/
      model_index.json      format version, style names, resolution, components, training info
      generator/            StyleGenerator (EMA weights): config.json + model.safetensors
      translator/           StyleTranslator (EMA weights): config.json + model.safetensors
      style_classifier/     StyleClassifier, reads a reference's style (with the translator)

A folder holds a generator, a translator, or both. No pickle anywhere.
"""

import os
import shutil
from pathlib import Path

from ..nets.generator import StyleGenerator
from ..nets.pretrained import CheckpointError, read_json, write_json
from ..nets.style_classifier import StyleClassifier
from ..nets.translator import StyleTranslator

FORMAT_VERSION = 1
INDEX_NAME = "model_index.json"
COMPONENTS = {"generator": StyleGenerator, "translator": StyleTranslator, "style_classifier": StyleClassifier}


def save_export(folder, styles: list, resolution: int, components: dict, extra: dict = None) -> None:
    """Write the inference folder for `components` ({"generator": G_ema, "translator": T_ema}).
    Replaces an existing folder atomically (written beside it, then swapped in)."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, module in components.items():
        module.save_pretrained(tmp / name)
    index = {
        "_format": "ganstyle",
        "format_version": FORMAT_VERSION,
        "styles": list(styles),
        "resolution": resolution,
        "components": {name: type(module).__name__ for name, module in components.items()},
        **(extra or {}),
    }
    write_json(tmp / INDEX_NAME, index)
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def read_index(folder) -> dict:
    """Read and validate `model_index.json`; refuses unknown format versions and components."""
    path = Path(folder) / INDEX_NAME
    index = read_json(path)
    version = index.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {version!r}; this ganstyle reads version {FORMAT_VERSION}. "
            "Upgrade ganstyle or re-export the model."
        )
    for key in ("styles", "resolution", "components"):
        if key not in index:
            raise CheckpointError(f"{path} lacks the field {key!r}")
    unknown = sorted(set(index["components"]) - set(COMPONENTS))
    if unknown or not set(index["components"]) & {"generator", "translator"}:
        raise CheckpointError(f"{path} lists unknown or no components {unknown}; known: {sorted(COMPONENTS)}")
    if "style_classifier" in index["components"] and "translator" not in index["components"]:
        raise CheckpointError(f"{path} lists a style_classifier without the translator it reads")
    return index


def load_export(folder, device=None) -> tuple:
    """Load an inference folder: returns (index, {name: module}). Refuses a component whose
    number of styles differs from the style list in the index."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"model folder {folder} does not exist")
    index = read_index(folder)
    modules = {}
    for name in index["components"]:
        module = COMPONENTS[name].from_pretrained(folder / name, device=device)
        if module.config.num_styles != len(index["styles"]):
            raise CheckpointError(
                f"{folder / name / 'config.json'} has {module.config.num_styles} styles but "
                f"{folder / INDEX_NAME} lists {len(index['styles'])}"
            )
        modules[name] = module
    classifier = modules.get("style_classifier")
    if classifier is not None and classifier.config.feature_dim != modules["translator"].config.hidden_dim:
        raise CheckpointError(
            f"{folder / 'style_classifier' / 'config.json'} reads {classifier.config.feature_dim} features but "
            f"the translator's style encoder gives {modules['translator'].config.hidden_dim}"
        )
    return index, modules
