"""The model folder (storage/model_folder.py) and the config + safetensors format of one network
(nets/pretrained.py)."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import BATCH, RESOLUTION, STYLES, assert_same_tensors, last_checkpoint, load_state
from ganstyle.storage.model_folder import FORMAT_VERSION, INDEX_NAME, load_export, read_index, save_export
from ganstyle.nets.generator import GeneratorConfig, StyleGenerator
from ganstyle.files import CheckpointError
from ganstyle.nets.translator import StyleTranslator, TranslatorConfig

STYLE_NAMES = sorted(STYLES)


def tiny_modules(num_styles=3, seed=0):
    torch.manual_seed(seed)
    g = StyleGenerator(GeneratorConfig(resolution=16, num_styles=num_styles, latent_dim=8, w_dim=16,
                                       mapping_layers=1, channel_base=64, max_channels=16))
    with torch.no_grad():
        g.w_avg.normal_()
    t = StyleTranslator(TranslatorConfig(resolution=16, num_styles=num_styles, style_dim=8, latent_dim=4,
                                         base_channels=4, max_channels=8, hidden_dim=16))
    with torch.no_grad():  # the last layer starts at zero (identity); give it weights as training would
        t.network.to_rgb[-1].weight.normal_(0, 0.3)
    return {"generator": g.eval(), "translator": t.eval()}


@pytest.fixture
def export_dir(tmp_path):
    folder = tmp_path / "export"
    save_export(folder, ["a", "b", "c"], 16, tiny_modules(), extra={"training": {"steps": 0}})
    return folder


def outputs(modules, seed=0):
    """Deterministic outputs of every inference entry point of the two networks."""
    gen = torch.Generator().manual_seed(seed)
    result = {}
    with torch.no_grad():
        if "generator" in modules:
            g = modules["generator"]
            z = torch.randn(4, g.config.latent_dim, generator=gen)
            labels = torch.tensor([0, 1, 2, 0])
            result["g"] = g(z, labels)
            result["g_trunc"] = g(z, labels, truncation=0.5)
        if "translator" in modules:
            t = modules["translator"]
            content = torch.rand(4, 3, t.config.resolution, t.config.resolution, generator=gen) * 2 - 1
            labels = torch.tensor([1, 2, 0, 1])
            s = t.style_from_latent(torch.randn(4, t.config.latent_dim, generator=gen), labels)
            result["t_latent"] = t(content, s)
            result["t_ref"] = t(content, t.style_code_from_reference(content.flip(0), labels))
    return result


def test_export_layout_and_round_trip(export_dir):
    assert sorted(p.name for p in export_dir.iterdir()) == ["generator", INDEX_NAME, "translator"]
    for component in ("generator", "translator"):
        assert sorted(p.name for p in (export_dir / component).iterdir()) == ["config.json", "model.safetensors"]
    index = json.loads((export_dir / INDEX_NAME).read_text())
    assert index["format_version"] == FORMAT_VERSION == 2
    assert index["_format"] == "ganstyle"
    assert index["styles"] == ["a", "b", "c"] and index["resolution"] == 16
    assert index["components"] == {"generator": "StyleGenerator", "translator": "StyleTranslator"}
    assert index["training"] == {"steps": 0}
    config = json.loads((export_dir / "generator" / "config.json").read_text())
    assert config["_class_name"] == "StyleGenerator" and config["latent_dim"] == 8

    original = tiny_modules()
    loaded_index, loaded = load_export(export_dir)
    assert loaded_index == index
    assert set(loaded) == {"generator", "translator"}
    for name in loaded:
        assert not loaded[name].training  # ready for inference
        assert type(loaded[name]) is type(original[name])
        assert loaded[name].config == original[name].config
        assert_same_tensors(loaded[name].state_dict(), original[name].state_dict())
    a, b = outputs(original), outputs(loaded)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_export_replaces_an_existing_folder_atomically(export_dir):
    save_export(export_dir, ["x", "y", "z"], 16, {"generator": tiny_modules(seed=1)["generator"]})
    index, modules = load_export(export_dir)
    assert index["styles"] == ["x", "y", "z"] and list(modules) == ["generator"]
    assert not (export_dir / "translator").exists()
    leftovers = sorted(p.name for p in export_dir.parent.iterdir())
    assert leftovers == ["export"], "no .tmp or .old folder may be left behind"


def test_single_component_export(tmp_path):
    folder = tmp_path / "t_only"
    save_export(folder, ["p", "q"], 16, {"translator": tiny_modules(num_styles=2)["translator"]})
    index, modules = load_export(folder, device="cpu")
    assert list(modules) == ["translator"] and index["components"] == {"translator": "StyleTranslator"}


# ---------------------------------------------------------------- refusals name the file and the problem


def test_config_that_does_not_match_the_weights(export_dir):
    config_path = export_dir / "generator" / "config.json"
    config = json.loads(config_path.read_text())
    config["resolution"] = 32  # more layers than the weights hold
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as err:
        load_export(export_dir)
    message = str(err.value)
    assert f"{export_dir / 'generator' / 'model.safetensors'} does not match {config_path}" in message
    assert "missing: " in message

    config["resolution"], config["w_dim"] = 16, 24  # same layers, other shapes
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"wrong shape: .*file \(\d+, 16\) vs config \(\d+, 24\)"):
        load_export(export_dir)


def test_weights_with_unexpected_tensors(export_dir):
    path = export_dir / "translator" / "model.safetensors"
    state = load_file(str(path))
    state["extra.weight"] = torch.zeros(2)
    del state["network.from_rgb.bias"]
    save_file(state, str(path))
    with pytest.raises(CheckpointError, match=r"missing: network\.from_rgb\.bias; unexpected: extra\.weight"):
        load_export(export_dir)


def test_unknown_format_version(export_dir):
    index_path = export_dir / INDEX_NAME
    index = json.loads(index_path.read_text())
    index["format_version"] = 99
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=r"has format_version 99; this ganstyle reads versions 1, 2") as err:
        load_export(export_dir)
    assert str(index_path) in str(err.value)
    del index["format_version"]
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="format_version None"):
        read_index(export_dir)


def test_missing_weights_file(export_dir):
    weights = export_dir / "generator" / "model.safetensors"
    weights.unlink()
    with pytest.raises(CheckpointError, match=rf"^{weights} is missing$"):
        load_export(export_dir)


def test_corrupt_weights_file(export_dir):
    weights = export_dir / "translator" / "model.safetensors"
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="cannot be read as safetensors") as err:
        load_export(export_dir)
    assert str(weights) in str(err.value)


def test_corrupt_config_json(export_dir):
    config_path = export_dir / "translator" / "config.json"
    config_path.write_text('{"resolution": 16, ')
    with pytest.raises(CheckpointError, match="is not valid JSON") as err:
        load_export(export_dir)
    assert str(config_path) in str(err.value)
    config_path.write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="must hold a JSON object"):
        load_export(export_dir)
    config_path.unlink()
    with pytest.raises(CheckpointError, match=rf"^{config_path} is missing$"):
        load_export(export_dir)


def test_config_with_unknown_field_or_invalid_value_or_other_class(export_dir):
    config_path = export_dir / "generator" / "config.json"
    good = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**good, "dropout": 0.1}))
    with pytest.raises(CheckpointError, match=r"has unknown fields \['dropout'\] for StyleGenerator"):
        load_export(export_dir)
    config_path.write_text(json.dumps({**good, "resolution": 12}))
    with pytest.raises(CheckpointError, match="is not a valid StyleGenerator config: resolution must be a power"):
        load_export(export_dir)
    config_path.write_text(json.dumps({**good, "_class_name": "StyleTranslator"}))
    with pytest.raises(CheckpointError, match="describes a StyleTranslator, not a StyleGenerator"):
        load_export(export_dir)


def test_index_problems(export_dir, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_export(tmp_path / "nowhere")
    index_path = export_dir / INDEX_NAME
    index = json.loads(index_path.read_text())
    index_path.write_text(json.dumps({**index, "styles": ["a", "b"]}))
    with pytest.raises(CheckpointError, match=r"config\.json has 3 styles but .*model_index\.json lists 2"):
        load_export(export_dir)
    index_path.write_text(json.dumps({**index, "components": {"vocoder": "X"}}))
    with pytest.raises(CheckpointError, match=r"unknown or no components \['vocoder'\]"):
        load_export(export_dir)
    index_path.write_text(json.dumps({**index, "components": {}}))
    with pytest.raises(CheckpointError, match="unknown or no components"):
        load_export(export_dir)
    index_path.write_text(json.dumps({k: v for k, v in index.items() if k != "resolution"}))
    with pytest.raises(CheckpointError, match="lacks the field 'resolution'"):
        load_export(export_dir)
    index_path.unlink()
    with pytest.raises(CheckpointError, match=rf"^{index_path} is missing$"):
        load_export(export_dir)


# ---------------------------------------------------------------- the export written by training


def test_trained_export_matches_the_in_memory_ema_networks(both_run):
    settings, export, tasks = both_run
    assert export == Path(settings.out) / "export"
    index, loaded = load_export(export)
    assert index["styles"] == STYLE_NAMES and index["resolution"] == RESOLUTION
    assert index["training"]["steps"] == 6 and index["training"]["batch_size"] == BATCH
    in_memory = {"generator": tasks["generator"].G_ema, "translator": tasks["translator"].T_ema}
    for name, module in in_memory.items():
        assert_same_tensors(loaded[name].state_dict(), {k: v.cpu() for k, v in module.state_dict().items()})
    a, b = outputs(in_memory, seed=3), outputs(loaded, seed=3)
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key}: exported network differs from the in-memory EMA network"
    # ... and the EMA networks are not the raw trained ones
    assert not torch.equal(tasks["generator"].G.const, tasks["generator"].G_ema.const)


def test_trained_export_equals_the_ema_weights_of_the_last_checkpoint(both_run):
    settings, export, _ = both_run
    state = load_state(last_checkpoint(settings.out))
    for component, prefix in (("generator", "model.generator.G_ema."), ("translator", "model.translator.T_ema.")):
        from_checkpoint = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        assert from_checkpoint
        assert_same_tensors(load_file(str(export / component / "model.safetensors")), from_checkpoint)


def test_copied_export_folder_still_loads(both_run, tmp_path):
    _, export, _ = both_run
    copy = shutil.copytree(export, tmp_path / "moved")
    _, modules = load_export(copy)
    assert set(modules) == {"generator", "translator", "style_classifier"}


def test_version_1_folders_load_with_their_old_config_keys(export_dir):
    """Format version 1 stored the generator's latent_dim and max_channels as z_dim and
    channel_max; such folders (the shipped checkpoint among them) load as they did."""
    expected = outputs(load_export(export_dir)[1])
    index = json.loads((export_dir / INDEX_NAME).read_text())
    (export_dir / INDEX_NAME).write_text(json.dumps({**index, "format_version": 1}))
    config_path = export_dir / "generator" / "config.json"
    config = json.loads(config_path.read_text())
    config["z_dim"], config["channel_max"] = config.pop("latent_dim"), config.pop("max_channels")
    config_path.write_text(json.dumps(config))
    _, modules = load_export(export_dir)
    assert modules["generator"].config.latent_dim == 8 and modules["generator"].config.max_channels == 16
    for key, value in outputs(modules).items():
        assert torch.equal(value, expected[key]), key
