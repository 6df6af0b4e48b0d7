"""Multi-task discriminator: one real/fake output per style (StarGAN v2), used to train
both the style generator and the style translator."""

from dataclasses import dataclass

import torch
from torch import nn

from .layers import DownResBlock, EqualConv2d, EqualLinear, leaky_relu
from .pretrained import PretrainedModule


@dataclass
class DiscriminatorConfig:
    resolution: int = 64
    num_styles: int = 2
    channel_base: int = 1024
    max_channels: int = 256

    def channels(self, res: int) -> int:
        return min(self.max_channels, self.channel_base // res)


class MultiTaskDiscriminator(PretrainedModule):
    """Image -> one logit per style; `forward` returns the logit of each image's own style,
    so a fake "monet" is only judged against real Monets."""

    config_class = DiscriminatorConfig

    def __init__(self, config: DiscriminatorConfig):
        super().__init__(config)
        res = config.resolution
        self.from_rgb = EqualConv2d(3, config.channels(res), 1)
        blocks = []
        while res > 4:
            blocks.append(DownResBlock(config.channels(res), config.channels(res // 2)))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        c4 = config.channels(4)
        self.final_conv = EqualConv2d(c4 + 1, c4, 3)
        self.final_linear = EqualLinear(c4 * 16, c4, activation=True)
        self.heads = EqualLinear(c4, config.num_styles)

    def forward(self, x, labels):
        h = self.blocks(leaky_relu(self.from_rgb(x)))
        h = torch.cat([h, minibatch_stddev(h)], dim=1)
        h = self.final_linear(leaky_relu(self.final_conv(h)).flatten(1))
        return self.heads(h)[torch.arange(len(labels), device=x.device), labels]


def stddev_group_size(batch: int, group_size: int = 4) -> int:
    """Size of the minibatch-stddev groups for a batch; group k holds the images
    k, k + batch/size, k + 2 * batch/size, ..."""
    group = min(group_size, batch)
    while batch % group:
        group -= 1
    return group


def minibatch_stddev(h, group_size: int = 4):
    """One extra feature map: the feature spread within small groups of the batch, so the
    discriminator can see when the generator collapses to few outputs (ProGAN)."""
    batch, ch, height, width = h.shape
    group = stddev_group_size(batch, group_size)
    y = h.view(group, -1, ch, height, width)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])
    return y.view(-1, 1, 1, 1).repeat(group, 1, height, width)
