"""ganstyle: style-diverse image generation with GANs (random generation, style transfer,
interpolation and style mixing) from one exported checkpoint."""

__version__ = "0.1.0"
