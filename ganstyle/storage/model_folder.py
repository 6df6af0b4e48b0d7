"""The inference folder: the only format the pipeline, app and CLI load.

    export/
      model_index.json      format version, style names, resolution, components, training info
                            (and `resolutions`, per component, for one trained at another size)
      generator/            e.g. StyleGenerator (EMA weights): config.json + model.safetensors
      translator/           e.g. StyleTranslator (EMA weights): config.json + model.safetensors
      style_classifier/     StyleClassifier, reads a reference's style (with the translator)

A folder holds a generator, a translator, or both. `components` maps each to its class name,
which `nets.family.model_class` (the one registry of model classes) turns back into the
class. No pickle anywhere.
"""

import os
import shutil
from pathlib import Path

from ..files import CheckpointError, read_json, write_failure, write_json
from ..nets.family import model_class
from ..nets.validation import check_index_values

FORMAT_VERSION = 2
"""Written by this ganstyle. Version 2 renamed the generator's config keys z_dim -> latent_dim and
channel_max -> max_channels (one name per concept, as in the translator); version-1 folders
still load (`PretrainedModule.from_pretrained` reads the old keys)."""
READABLE_VERSIONS = (1, 2)
INDEX_NAME = "model_index.json"
COMPONENTS = ("generator", "translator", "style_classifier")
"""The components a model folder may hold: a generator, a translator, or both; a style
classifier only beside the translator whose reference features it reads."""


def save_export(folder, styles: list, resolution: int, components: dict, extra: dict = None) -> None:
    """Write the inference folder for `components` ({"generator": G_ema, "translator": T_ema}).
    A component whose config has another resolution than `resolution` is listed under
    `resolutions` in the index.
    Replaces an existing folder atomically (written beside it, then swapped in)."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    index = {
        "_format": "ganstyle",
        "format_version": FORMAT_VERSION,
        "styles": list(styles),
        "resolution": resolution,
        "components": {name: type(module).__name__ for name, module in components.items()},
        **(extra or {}),
    }
    own = {name: module.config.resolution for name, module in components.items()
           if getattr(module.config, "resolution", resolution) != resolution}
    index.pop("resolutions", None)
    if own:  # e.g. a 64 px generator beside a 256 px painter
        index["resolutions"] = own
    try:
        tmp.mkdir(parents=True)
        for name, module in components.items():
            module.save_pretrained(tmp / name)
        write_json(tmp / INDEX_NAME, index)
    except Exception as err:  # OSError, or safetensors' own error type (e.g. the disk is full)
        shutil.rmtree(tmp, ignore_errors=True)
        kept = "the previous export is intact" if folder.exists() else "no export was written"
        raise CheckpointError(f"cannot write the export {folder}: {write_failure(err)}; {kept}") from None
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def read_index(folder) -> dict:
    """Read and validate `model_index.json`; refuses unknown format versions and components,
    and values of the wrong type or out of range (`validation.check_index_values`)."""
    path = Path(folder) / INDEX_NAME
    index = read_json(path)
    version = index.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has format_version {version!r}; this ganstyle reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. "
            "Upgrade ganstyle or re-export the model."
        )
    for key in ("styles", "resolution", "components"):
        if key not in index:
            raise CheckpointError(f"{path} lacks the field {key!r}")
    check_index_values(path, index)
    if not isinstance(index["components"], dict):
        raise CheckpointError(f"{path}: 'components' must map each component to its class name")
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
    for name, class_name in index["components"].items():
        cls = model_class(class_name)
        if getattr(cls, "role", name) != name:
            raise CheckpointError(f"{folder / INDEX_NAME} lists a {class_name} (a {cls.role}) as its {name}")
        module = cls.from_pretrained(folder / name, device=device)
        if module.config.num_styles != len(index["styles"]):
            raise CheckpointError(
                f"{folder / name / 'config.json'} has {module.config.num_styles} styles but "
                f"{folder / INDEX_NAME} lists {len(index['styles'])}"
            )
        resolution = getattr(module.config, "resolution", index["resolution"])
        expected = index.get("resolutions", {}).get(name, index["resolution"])
        if resolution != expected:
            raise CheckpointError(f"{folder / name / 'config.json'} has resolution {resolution} but "
                                  f"{folder / INDEX_NAME} says {expected}")
        modules[name] = module
    classifier = modules.get("style_classifier")
    if classifier is not None and classifier.config.feature_dim != modules["translator"].reference_feature_dim:
        raise CheckpointError(
            f"{folder / 'style_classifier' / 'config.json'} reads {classifier.config.feature_dim} features but "
            f"the translator's reference features have {modules['translator'].reference_feature_dim}"
        )
    return index, modules
