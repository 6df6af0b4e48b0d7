"""The inversion encoder (nets/inversion.py LatentEncoder, training/encoder_task.py): a
generator that has one starts its search there; training it leaves the generator as it was."""

import math

import numpy as np
import pytest
import torch

from conftest import read_metrics, run_training, settings_for
from ganstyle.data import DataError
from ganstyle.inference.pipeline import StylePipeline
from ganstyle.nets.generator import GeneratorConfig, StyleGenerator
from ganstyle.nets.inversion import _start, image_distance
from ganstyle.storage.model_folder import load_export, save_export
from ganstyle.training.encoder_task import encoder_channels
from tiny_model import tiny_generator


def test_encoder_channels_give_one_stage_per_halving_to_4_px():
    assert encoder_channels(64) == [32, 64, 128, 256]
    assert encoder_channels(256) == [32, 64, 128, 256, 256, 256]
    with pytest.raises(ValueError, match="one width per halving from 64 to 4 px"):
        GeneratorConfig(resolution=64, encoder_channels=[32, 64])


def test_an_untrained_encoder_proposes_the_style_mean_and_round_trips(tmp_path):
    torch.manual_seed(0)
    g = StyleGenerator(GeneratorConfig(resolution=16, num_styles=2, latent_dim=16, w_dim=32, mapping_layers=2,
                                       channel_base=256, max_channels=32, encoder_channels=[8, 16]))
    g.w_avg.normal_()
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    labels = torch.tensor([0, 1, 1])
    assert torch.equal(g.encode(images, labels), g.broadcast(g.w_avg[labels]))  # zero head: the mean w
    torch.nn.init.normal_(g.encoder.head[-1].weight, std=0.01)
    save_export(tmp_path / "m", ["a", "b"], 16, {"generator": g})
    _, modules = load_export(tmp_path / "m")
    assert torch.equal(modules["generator"].encode(images, labels), g.encode(images, labels))


def test_a_generator_without_an_encoder_refuses_to_encode():
    g = tiny_generator(2, 16)
    with pytest.raises(ValueError, match="no inversion encoder"):
        g.encode(torch.zeros(1, 3, 16, 16), torch.tensor([0]))


def test_the_search_starts_at_the_encoder_s_latent_when_it_is_closest():
    """An encoder that returns the latent that drew the target makes that latent the start."""
    torch.manual_seed(0)
    g = StyleGenerator(GeneratorConfig(resolution=16, num_styles=2, latent_dim=16, w_dim=32, mapping_layers=2,
                                       channel_base=256, max_channels=32, encoder_channels=[8, 16])).eval()
    labels = torch.tensor([1])
    with torch.no_grad():
        g.w_avg.copy_(g.mapping(torch.randn(2, 16), torch.tensor([0, 1])))
        truth = g.broadcast(g.mapping(torch.randn(1, 16), labels)) + 0.3 * torch.randn(1, g.num_ws, 32)
        target = g.synthesis(truth)
        g.encoder.head[-1].bias.copy_((truth - g.w_avg[labels].unsqueeze(1)).flatten())
        start = _start(g, target, labels)
    assert torch.allclose(start, truth, atol=1e-6)
    assert float(image_distance(g.synthesis(start), target).detach()) < 1e-10


def test_training_the_encoder_keeps_the_generator_and_exports_it_with_the_encoder(train_data, tmp_path):
    source = tmp_path / "source"
    save_export(source, ["circles", "squares", "triangles"], 16, {"generator": tiny_generator(3, 16)})
    settings = settings_for(train_data, tmp_path / "run", components="encoder", init_from=str(source), steps=3,
                            checkpoint_every=3, sample_every=3)
    export, _ = run_training(settings)
    assert math.isfinite(float(read_metrics(settings.out)[-1]["encoder/distance_real"]))
    _, before = load_export(source)
    _, after = load_export(export)
    G = after["generator"]
    assert G.config.encoder_channels == [32, 64]
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in before["generator"].state_dict().items())
    assert float(G.encoder.head[-1].weight.detach().abs().sum()) > 0  # the encoder learned something
    pipe = StylePipeline.from_pretrained(export)
    same = StylePipeline.from_pretrained(source).generate("circles", seed=1)[0]
    assert np.array_equal(np.asarray(pipe.generate("circles", seed=1)[0]), np.asarray(same))  # generation unchanged
    w, noise = pipe.invert(pipe.generate("squares", seed=2)[0], steps=3)
    assert w.shape == (1, G.num_ws, G.config.w_dim)


def test_encoder_training_needs_a_generator_to_invert(train_data, tmp_path):
    with pytest.raises(DataError, match="needs --init-from"):
        run_training(settings_for(train_data, tmp_path / "run", components="encoder", steps=1))
    source = tmp_path / "source"
    save_export(source, ["circles", "squares", "triangles"], 32, {"generator": tiny_generator(3, 32)})
    with pytest.raises(DataError, match="train its encoder at --resolution 32"):
        run_training(settings_for(train_data, tmp_path / "run2", components="encoder", init_from=str(source), steps=1))
