"""image_grid: cells land row by row at the right place, padding is black, bad input refused."""

import numpy as np
import pytest
import torch

from ganstyle.training.grid import image_grid


def solid(values):
    """A batch of 4x6 images, image k filled with the grey level values[k] (in [-1, 1])."""
    return torch.stack([torch.full((3, 4, 6), float(v)) for v in values])


def test_cells_are_placed_row_by_row_with_black_padding():
    levels = [-0.5, 0.0, 0.5, 1.0, 0.25]  # 5 images in 3 columns: 2 rows, the last cell empty
    grid = np.asarray(image_grid(solid(levels), columns=3, padding=2))
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (6 + 2) + 2, 3)
    for k, level in enumerate(levels):
        top, left = (k // 3) * 6 + 2, (k % 3) * 8 + 2
        cell = grid[top:top + 4, left:left + 6]
        assert (cell == round((level + 1) * 127.5)).all(), k
    assert (grid[:2] == 0).all() and (grid[:, :2] == 0).all()  # padding and the empty cell are black
    assert (grid[8:12, 18:24] == 0).all()


def test_values_outside_the_range_are_clipped_and_columns_capped_at_the_batch():
    grid = image_grid(solid([3.0, -7.0]), columns=8, padding=0)
    assert grid.size == (12, 4)  # two cells side by side, not eight
    array = np.asarray(grid)
    assert (array[:, :6] == 255).all() and (array[:, 6:] == 0).all()


@pytest.mark.parametrize("images, columns, padding, message", [
    (torch.zeros(3, 4, 4), 2, 2, "shape"),
    (torch.zeros(2, 1, 4, 4), 2, 2, "shape"),
    (np.zeros((2, 3, 4, 4)), 2, 2, "ndarray"),
    (torch.zeros(0, 3, 4, 4), 2, 2, "empty"),
    (torch.zeros(2, 3, 4, 4), 0, 2, "columns"),
    (torch.zeros(2, 3, 4, 4), 2, -1, "padding"),
])
def test_bad_input_is_refused(images, columns, padding, message):
    with pytest.raises(ValueError, match=message):
        image_grid(images, columns=columns, padding=padding)
