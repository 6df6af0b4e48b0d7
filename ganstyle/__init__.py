"""ganstyle: style-diverse image generation with GANs (random generation, style transfer,
interpolation and style mixing) from one exported checkpoint."""

from .imageio import ImageError
from .files import CheckpointError
from .inference.pipeline import StylePipeline
from .version import __version__
__all__ = ["StylePipeline", "CheckpointError", "ImageError", "__version__"]
