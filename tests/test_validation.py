"""Crafted model folders (issue 14, point 6 of the fault probe): each is refused with a
CheckpointError naming the file, quickly and before any large allocation."""

import json
import resource
import shutil
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganstyle import CheckpointError, StylePipeline
from ganstyle.nets.validation import MAX_PARAMETERS
from tiny_model import build_tiny_export


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build_tiny_export(tmp_path_factory.mktemp("good") / "model")


def crafted(good, tmp_path, file: str, **changes):
    """A copy of the tiny export with fields of one JSON file changed (None deletes a field)."""
    folder = shutil.copytree(good, tmp_path / "crafted")
    path = folder / file
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return folder


def refused(folder, *fragments):
    """Loading `folder` raises CheckpointError with every fragment, within 2 s and 100 MB."""
    peak, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        StylePipeline.from_pretrained(folder, device="cpu")
    assert time.perf_counter() - start < 2.0
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024 < 100
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
    assert len(str(err.value)) < 500 and "\n" not in str(err.value)
    return str(err.value)


CONFIGS = [  # (file, changes, what the message says): each was a crash, a hang or a huge allocation
    ("generator/config.json", {"resolution": 65536}, "resolution must be between 1 and 2048, got 65536"),
    ("generator/config.json", {"max_channels": 1e9}, "max_channels must be an integer, got 1000000000.0"),
    ("generator/config.json", {"max_channels": 10**9}, "max_channels must be between 1 and 65536"),
    ("generator/config.json", {"mapping_layers": 100000}, "mapping_layers must be between 0 and 64, got 100000"),
    ("generator/config.json", {"w_dim": 60000, "mapping_layers": 64}, "parameters; ganstyle loads at most"),
    ("generator/config.json", {"resolution": -1}, "resolution must be between 1 and 2048, got -1"),
    ("generator/config.json", {"latent_dim": True}, "latent_dim must be an integer, got True"),
    ("generator/config.json", {"resolution": 48}, "resolution must be a power of two"),
    ("generator/config.json", {"encoder_channels": 5}, "encoder_channels must be a list, got 5"),
    ("generator/config.json", {"encoder_channels": [8, 10**9]}, "encoder_channels must be between 1 and 65536"),
    ("translator/config.json", {"max_channels": "128"}, "max_channels must be an integer, got '128'"),
    ("translator/config.json", {"bottleneck_blocks": 10**6}, "bottleneck_blocks must be between 0 and 64"),
    ("model_index.json", {"styles": 5}, "styles must be a list of style names, got 5"),
    ("model_index.json", {"styles": ["circle", "circle", "square"]}, "repeated: circle"),
    ("model_index.json", {"styles": ["circle", "", "square"]}, "style names must be 1 to 100 characters"),
    ("model_index.json", {"styles": ["x" * 10**5, "a", "b"]}, "style names must be 1 to 100 characters"),
    ("model_index.json", {"resolution": -1}, "resolution must be a power of two from 8 to 2048, got -1"),
    ("model_index.json", {"resolution": 65536}, "resolution must be a power of two from 8 to 2048"),
    ("model_index.json", {"resolution": 64}, "has resolution 32 but"),
    ("model_index.json", {"components": 3}, "components must be a list"),
]


@pytest.mark.parametrize("file, changes, message", CONFIGS, ids=[f"{f.split('/')[0]}-{'-'.join(c)}"
                                                                   for f, c, _ in CONFIGS])
def test_crafted_configs_are_refused_quickly(good, tmp_path, file, changes, message):
    refused(crafted(good, tmp_path, file, **changes), file.split("/")[0], message)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_with_nan_or_inf_are_refused(good, tmp_path, value):
    folder = shutil.copytree(good, tmp_path / "nan")
    weights = folder / "generator" / "model.safetensors"
    state = load_file(str(weights))
    name = sorted(k for k, v in state.items() if v.is_floating_point())[0]
    state[name].view(-1)[0] = value
    save_file(state, str(weights))
    refused(folder, "generator/model.safetensors holds NaN or infinite values in", name)


def test_parameter_bound_is_counted_without_allocating(good, tmp_path):
    """A config of ~4 billion parameters (16 GB) is refused in milliseconds."""
    message = refused(crafted(good, tmp_path, "generator/config.json", w_dim=65536, mapping_layers=1),
                      "parameters; ganstyle loads at most")
    count = int(message.split("network of ")[1].split(" parameters")[0].replace(",", ""))
    assert count > MAX_PARAMETERS


def test_the_good_folder_still_loads(good):
    pipe = StylePipeline.from_pretrained(good, device="cpu")
    assert pipe.generate("circle", seed=0)[0].size == (32, 32)
    assert torch.isfinite(next(pipe.generator.parameters())).all()
