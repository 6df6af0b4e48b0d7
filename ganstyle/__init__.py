"""ganstyle: style-diverse image generation with GANs (random generation, style transfer,
interpolation and style mixing) from one exported checkpoint."""

from .imageio import ImageError
from .modeling import CheckpointError
from .pipeline import StylePipeline

__version__ = "0.1.0"
__all__ = ["StylePipeline", "CheckpointError", "ImageError", "__version__"]
