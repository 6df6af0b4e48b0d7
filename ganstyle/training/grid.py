"""Tiling a batch of images into one picture (the training sample grids).

Written here rather than taken from torchvision: ganstyle needs nothing else from it, and
PyPI's torchvision does not import beside PyTorch's CPU-only wheels (`torch==X+cpu`), so
depending on it would break the CPU-only install for one helper function.
"""

import math

import torch
from PIL import Image

from ..imageio import tensor_to_pil


def image_grid(images: torch.Tensor, columns: int, padding: int = 2) -> Image.Image:
    """RGB PIL image of `images` (N, 3, H, W, values in [-1, 1], clipped) laid out row by row,
    `columns` per row, with `padding` black pixels around and between the cells.

    Refuses (ValueError) a tensor that is not a batch of 3-channel images, an empty batch,
    `columns` < 1 and a negative `padding`."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"image_grid expects a tensor of shape (N, 3, H, W), got {shape}")
    if len(images) == 0:
        raise ValueError("image_grid got an empty batch")
    if columns < 1 or padding < 0:
        raise ValueError(f"columns must be >= 1 and padding >= 0, got {columns} and {padding}")
    count, _, height, width = images.shape
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    canvas = images.new_full((3, rows * cell_h + padding, columns * cell_w + padding), -1.0)
    for k, image in enumerate(images):
        top, left = (k // columns) * cell_h + padding, (k % columns) * cell_w + padding
        canvas[:, top:top + height, left:left + width] = image
    return tensor_to_pil(canvas)
