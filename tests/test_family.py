"""Model families (nets/family.py): the registry of model classes, the interface defaults, and
a second translator family (tests/tiny_model.py's PaletteTranslator) running through the
model folder and the whole pipeline with no change to either."""

import json

import pytest
import torch
from PIL import Image

from ganstyle import StylePipeline
from ganstyle.imageio import pil_to_tensor
from ganstyle.nets.family import Generator, Translator, known_classes, model_class, register
from ganstyle.nets.generator import StyleGenerator
from ganstyle.files import CheckpointError
from ganstyle.nets.style_classifier import StyleClassifier
from ganstyle.nets.translator import StyleTranslator
from ganstyle.storage.model_folder import INDEX_NAME, load_export
from tiny_model import STYLES, PaletteTranslator, build_palette_export


@pytest.fixture(scope="module")
def palette_dir(tmp_path_factory):
    return build_palette_export(tmp_path_factory.mktemp("palette") / "model")


@pytest.fixture(scope="module")
def palette_pipe(palette_dir):
    return StylePipeline.from_pretrained(palette_dir, device="cpu")


def solid(colour, size=(20, 12)) -> Image.Image:
    return Image.new("RGB", size, colour)


# ----------------------------------------------------------------------------- the registry
def test_model_class_finds_builtin_and_registered_classes():
    assert model_class("StyleGenerator") is StyleGenerator
    assert model_class("StyleTranslator") is StyleTranslator
    assert model_class("StyleClassifier") is StyleClassifier
    assert model_class("PaletteTranslator") is PaletteTranslator
    assert {"StyleGenerator", "StyleTranslator", "PaletteTranslator"} <= set(known_classes())
    assert StyleGenerator.role == "generator" and StyleTranslator.role == PaletteTranslator.role == "translator"


def test_unknown_class_names_the_known_ones():
    with pytest.raises(CheckpointError, match=r"unknown model class 'CubistTranslator'; .*StyleTranslator"):
        model_class("CubistTranslator")


def test_register_refuses_a_taken_name_and_non_models():
    assert register(PaletteTranslator) is PaletteTranslator  # the same class again is fine
    clash = type("StyleTranslator", (Translator,), {})
    with pytest.raises(ValueError, match="already registered"):
        register(clash)
    with pytest.raises(TypeError, match="PretrainedModule"):
        register(dict)


def folder_listing(palette_dir, folder, components: dict):
    """A model folder whose model_index.json is palette_dir's with other `components`."""
    index = json.loads((palette_dir / INDEX_NAME).read_text())
    folder.mkdir()
    (folder / INDEX_NAME).write_text(json.dumps({**index, "components": components}))
    return folder


def test_folder_with_an_unknown_class_is_refused(palette_dir, tmp_path):
    folder = folder_listing(palette_dir, tmp_path / "model", {"translator": "CubistTranslator"})
    with pytest.raises(CheckpointError, match="unknown model class 'CubistTranslator'"):
        load_export(folder)


def test_folder_listing_a_class_in_the_wrong_role_is_refused(palette_dir, tmp_path):
    folder = folder_listing(palette_dir, tmp_path / "model", {"generator": "PaletteTranslator"})
    with pytest.raises(CheckpointError, match="PaletteTranslator \\(a translator\\) as its generator"):
        load_export(folder)


# ----------------------------------------------------------------------------- interface defaults
def test_blend_style_codes_is_a_weighted_average_with_exact_ends():
    t = PaletteTranslator(PaletteTranslator.config_class())
    a, b, c = torch.tensor([[1.0, 0, 0]]), torch.tensor([[0, 1.0, 0]]), torch.tensor([[0, 0, 1.0]])
    torch.testing.assert_close(t.blend_style_codes([a, b, c], [1, 1, 2]), torch.tensor([[0.25, 0.25, 0.5]]))
    for weight in torch.linspace(0, 1, 7).tolist():
        assert torch.equal(t.blend_style_codes([a, b], [1 - weight, weight]), torch.lerp(a, b, weight))
    with pytest.raises(ValueError, match="one weight per style code"):
        t.blend_style_codes([a, b], [1])
    with pytest.raises(ValueError, match="not all 0"):
        t.blend_style_codes([a, b], [0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        t.blend_style_codes([a, b], [2, -1])


def test_an_unimplemented_method_names_the_class():
    bare = type("BareTranslator", (Translator,), {"config_class": PaletteTranslator.config_class})
    t = bare(bare.config_class())
    with pytest.raises(NotImplementedError, match="BareTranslator does not implement translate"):
        t.translate(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3))
    assert t.reference_feature_dim is None
    g = type("BareGenerator", (Generator,), {"config_class": PaletteTranslator.config_class})
    with pytest.raises(NotImplementedError, match="BareGenerator does not support style mixing"):
        g(g.config_class()).mix_layers


# ----------------------------------------------------------------------------- a second family end to end
def test_palette_folder_loads_as_its_own_family(palette_pipe):
    assert type(palette_pipe.translator) is PaletteTranslator
    assert type(palette_pipe.generator) is StyleGenerator
    assert palette_pipe.style_classifier is None


def test_transfer_to_a_named_style_uses_the_family_code(palette_pipe):
    grey = solid((128, 128, 128))
    out = palette_pipe.transfer(grey, style=STYLES[1], seed=5)[0]
    code = palette_pipe.translator.style_code(torch.tensor([1]), torch.Generator().manual_seed(5))
    expected = torch.lerp(pil_to_tensor(grey), code[0, :, None, None].expand(3, 12, 20), 0.5)
    assert out.size == grey.size
    got = pil_to_tensor(out)
    assert (got - expected).abs().max() < 2 / 255  # one grey level of 8-bit rounding
    assert (out.info["seed"], out.info["style"]) == (5, STYLES[1])
    assert palette_pipe.transfer(grey, style=STYLES[1], seed=5)[0].tobytes() == out.tobytes()


def test_reference_transfer_needs_no_style_classifier(palette_pipe):
    out = palette_pipe.transfer(solid((0, 0, 0)), reference=solid((255, 255, 255), (32, 32)))[0]
    # halfway between black and the reference's white
    assert [colour for _, colour in out.getcolors()] == [(128, 128, 128)]
    with pytest.raises(ValueError, match="no style classifier"):
        palette_pipe.detect_style(solid((255, 0, 0)))


def test_interpolated_transfer_walks_between_the_family_codes(palette_pipe):
    frames = palette_pipe.interpolate(STYLES[0], STYLES[2], steps=3, seed=1, image=solid((128, 128, 128)))
    reds = [f.getpixel((0, 0))[0] for f in frames]
    blues = [f.getpixel((0, 0))[2] for f in frames]
    assert reds[0] > reds[1] > reds[2] and blues[0] < blues[1] < blues[2]


def test_save_pretrained_keeps_the_family(palette_pipe, tmp_path):
    folder = palette_pipe.save_pretrained(tmp_path / "copy")
    index = json.loads((folder / INDEX_NAME).read_text())
    assert index["components"]["translator"] == "PaletteTranslator"
    again = StylePipeline.from_pretrained(folder, device="cpu")
    assert torch.equal(again.translator.palette, palette_pipe.translator.palette)
