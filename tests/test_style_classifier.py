"""The style classifier that reads a reference image's style from the style encoder."""

import json
import shutil

import pytest
import torch

from ganstyle.storage.model_folder import load_export
from ganstyle.files import CheckpointError
from ganstyle.nets.style_classifier import StyleClassifier, encoder_features, fit_style_classifier
from ganstyle.nets.translator import StyleTranslator, TranslatorConfig


def painted(n, style, seed):
    """uint8 images of random blotches in a style's palette (0: warm, 1: cool), random
    brightness: separable by palette, not by any single pixel."""
    gen = torch.Generator().manual_seed(seed)
    palette = torch.tensor([[200.0, 90.0, 40.0], [40.0, 90.0, 200.0]])[style]
    blotches = torch.nn.functional.interpolate(torch.rand(n, 1, 4, 4, generator=gen), size=32, mode="bilinear")
    brightness = 0.6 + 0.6 * torch.rand(n, 1, 1, 1, generator=gen)
    image = palette.view(1, 3, 1, 1) * brightness * (0.5 + blotches) + 20 * torch.randn(n, 3, 32, 32, generator=gen)
    return image.clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def translator():
    torch.manual_seed(0)
    return StyleTranslator(TranslatorConfig(resolution=32, num_styles=2, style_dim=16, latent_dim=8,
                                            base_channels=8, max_channels=32, hidden_dim=32)).eval()


def test_separable_styles_are_read_on_held_out_images(translator):
    train = torch.cat([painted(40, 0, 0), painted(40, 1, 1)])
    labels = torch.arange(2).repeat_interleave(40)
    classifier = fit_style_classifier(translator, train, labels)
    held_out = torch.cat([painted(20, 0, 2), painted(20, 1, 3)])
    predicted = classifier(encoder_features(translator, held_out)).argmax(1)
    assert (predicted == torch.arange(2).repeat_interleave(20)).float().mean() >= 0.95


def test_a_small_style_is_not_drowned_by_a_large_one(translator):
    """8 images of one style against 80 of the other: class weights keep the small one found."""
    train = torch.cat([painted(80, 0, 0), painted(8, 1, 1)])
    labels = torch.tensor([0] * 80 + [1] * 8)
    classifier = fit_style_classifier(translator, train, labels)
    predicted = classifier(encoder_features(translator, painted(20, 1, 3))).argmax(1)
    assert (predicted == 1).float().mean() >= 0.8


def test_float_and_uint8_images_give_the_same_features(translator):
    images = painted(4, 0, 0)
    assert torch.allclose(encoder_features(translator, images),
                          encoder_features(translator, images.float() / 127.5 - 1), atol=1e-6)


def test_round_trip_keeps_the_predictions(translator, tmp_path):
    train = torch.cat([painted(10, 0, 0), painted(10, 1, 1)])
    classifier = fit_style_classifier(translator, train, torch.arange(2).repeat_interleave(10))
    classifier.save_pretrained(tmp_path / "c")
    loaded = StyleClassifier.from_pretrained(tmp_path / "c")
    features = encoder_features(translator, train)
    assert torch.equal(classifier(features), loaded(features))


def edit_index(folder, change):
    path = folder / "model_index.json"
    index = json.loads(path.read_text())
    change(index)
    path.write_text(json.dumps(index))


def test_classifier_without_translator_is_refused(tiny_dir, tmp_path):
    folder = shutil.copytree(tiny_dir, tmp_path / "m")
    edit_index(folder, lambda index: index["components"].pop("translator"))
    with pytest.raises(CheckpointError, match="style_classifier without the translator"):
        load_export(folder)


def test_classifier_for_another_encoder_is_refused(tiny_dir, tmp_path):
    folder = shutil.copytree(tiny_dir, tmp_path / "m")
    config = folder / "style_classifier" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "feature_dim": 7}))
    with pytest.raises(CheckpointError, match=r"style_classifier.config\.json|model.safetensors"):
        load_export(folder)
