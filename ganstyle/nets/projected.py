"""Projected discriminator (Sauer et al. 2021, "Projected GANs Converge Faster").

The discriminator judges images in the feature space of a frozen ImageNet network rather
than learning its own features from pixels. On a small dataset and a CPU budget this is
the difference between blurry palette textures and images with structure after the same
number of steps: the pretrained features already separate brush strokes, skies and
buildings, so the small trainable part only has to learn what real images of each style
look like in that space. As in the paper, the features of EfficientNet-Lite0 at four
scales are mixed by fixed random 1x1 convolutions across channels (CCM) and by a
top-down path of fixed random 3x3 convolutions across scales (CSM), so that no single
feature dominates; one small convolutional discriminator per scale returns patch logits.

The frozen part (`FeatureProjector`) is rebuilt from the weights package and a fixed seed,
so checkpoints hold only the trainable `ProjectedDiscriminator`.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .pretrained import PretrainedModule
from .backbones import Lite0Trunk

# Last MBConv block of the EfficientNet-Lite0 stage groups that Projected GAN reads:
# strides 4, 8, 16 and 32 (24, 40, 112 and 320 channels).
FEATURE_BLOCKS = (2, 4, 10, 15)
FEATURE_CHANNELS = (24, 40, 112, 320)


def projected_channels(width: int) -> tuple:
    """Channels of the four projected feature maps: `width`, doubling per scale."""
    return tuple(width * 2**i for i in range(len(FEATURE_BLOCKS)))


class FeatureProjector(nn.Module):
    """Frozen: image in [-1, 1] -> four feature maps (strides 4-32 of `input_size`), mixed
    across channels and scales by fixed random convolutions."""

    def __init__(self, input_size: int = 128, width: int = 64, seed: int = 0):
        super().__init__()
        self.trunk = Lite0Trunk(FEATURE_BLOCKS, input_size)
        self.channels = projected_channels(width)
        self.ccm = nn.ModuleList(nn.Conv2d(c, o, 1) for c, o in zip(FEATURE_CHANNELS, self.channels))
        # CSM, deepest scale first: each output mixes its scale with the upsampled deeper one.
        self.csm = nn.ModuleList(nn.Conv2d(o, o, 3, padding=1) for o in self.channels)
        self.lateral = nn.ModuleList(nn.Conv2d(self.channels[i + 1], self.channels[i], 1)
                                     for i in range(len(self.channels) - 1))
        generator = torch.Generator().manual_seed(seed)
        for conv in [*self.ccm, *self.csm, *self.lateral]:
            nn.init.kaiming_normal_(conv.weight, generator=generator)
            nn.init.zeros_(conv.bias)
        self.requires_grad_(False)

    def forward(self, x) -> list:
        mixed = [ccm(f) for ccm, f in zip(self.ccm, self.trunk(x))]
        out = [self.csm[-1](mixed[-1])]
        for i in range(len(mixed) - 2, -1, -1):
            deeper = F.interpolate(self.lateral[i](out[0]), size=mixed[i].shape[-2:], mode="bilinear",
                                   align_corners=False)
            out.insert(0, self.csm[i](mixed[i] + deeper))
        return out


@dataclass
class ProjectedDiscriminatorConfig:
    num_styles: int = 2
    input_size: int = 128
    width: int = 64
    patch_size: int = 8


def _scale_discriminator(in_ch: int, size: int, num_styles: int, patch_size: int) -> nn.Sequential:
    """Strided convolutions down to `patch_size`, then one logit per style and patch."""
    layers, ch = [], in_ch
    while size > patch_size:
        out = min(ch * 2, 512)
        layers += [spectral_norm(nn.Conv2d(ch, out, 4, 2, 1)), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
        ch, size = out, size // 2
    layers.append(spectral_norm(nn.Conv2d(ch, num_styles, 3, padding=1)))
    return nn.Sequential(*layers)


class ProjectedDiscriminator(PretrainedModule):
    """The trainable part: projected features -> patch logits of each image's own style,
    (B, patches over all scales). One output channel per style, as in the multi-task
    discriminator, so a fake "monet" is only judged against real Monets."""

    config_class = ProjectedDiscriminatorConfig

    def __init__(self, config: ProjectedDiscriminatorConfig):
        super().__init__(config)
        sizes = [config.input_size // 2 ** (2 + i) for i in range(len(FEATURE_BLOCKS))]
        self.scales = nn.ModuleList(_scale_discriminator(c, s, config.num_styles, config.patch_size)
                                    for c, s in zip(projected_channels(config.width), sizes))

    def forward(self, features: list, labels):
        index = labels.view(-1, 1, 1, 1)
        logits = []
        for scale, feature in zip(self.scales, features):
            out = scale(feature)
            logits.append(out.gather(1, index.expand(-1, 1, *out.shape[2:])).flatten(1))
        return torch.cat(logits, dim=1)
