"""Affine rescaling of input columns onto the grid range of a KAN.

A KAN's splines live on a fixed grid, by default [-1, 1], so uploaded inputs in other units
are mapped column by column onto that range before training. `rescale_inputs` returns the map
so the app can show it and convert between raw and scaled units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Scaling", "rescale_inputs"]


@dataclass(frozen=True)
class Scaling:
    """Per-column affine map ``x_scaled = x * scale + offset`` onto a grid range.

    Attributes
    ----------
    scale, offset : torch.Tensor, shape (n_inputs,), float64
        Coefficients of the map.
    input_min, input_max : torch.Tensor, shape (n_inputs,), float64
        Column ranges of the data the map was fitted to.
    grid_range : tuple of float
        Target interval ``(low, high)``.
    constant_columns : tuple of int
        Indices of columns with a single value; they map to the midpoint of `grid_range`.
    """

    scale: torch.Tensor
    offset: torch.Tensor
    input_min: torch.Tensor
    input_max: torch.Tensor
    grid_range: tuple[float, float]
    constant_columns: tuple[int, ...]

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Map raw inputs ``(batch, n_inputs)`` onto the grid range."""
        return x * self.scale.to(x) + self.offset.to(x)

    def invert(self, x_scaled: torch.Tensor) -> torch.Tensor:
        """Map scaled inputs ``(batch, n_inputs)`` back to raw units."""
        return (x_scaled - self.offset.to(x_scaled)) / self.scale.to(x_scaled)


def rescale_inputs(
    x: torch.Tensor, grid_range: tuple[float, float] = (-1.0, 1.0)
) -> tuple[torch.Tensor, Scaling]:
    """Map each input column affinely so its minimum and maximum land on the grid range.

    Parameters
    ----------
    x : torch.Tensor, shape (n, n_inputs)
        Finite inputs.
    grid_range : tuple of float
        Target interval ``(low, high)`` with ``low < high``.

    Returns
    -------
    x_scaled : torch.Tensor, shape (n, n_inputs)
        Column minima equal ``low`` and maxima equal ``high`` exactly. A constant column maps to
        the midpoint of the range.
    scaling : Scaling
        The map, with ``scaling.apply(x)`` equal to `x_scaled` up to rounding.

    Raises
    ------
    ValueError
        If `x` is not 2-D with at least one row, is not finite, or the range is invalid.
    """
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(
            f"x must have shape (n, n_inputs) with n >= 1; received shape {tuple(x.shape)}."
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must contain only finite values; select_columns drops the other rows.")
    low, high = float(grid_range[0]), float(grid_range[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"grid_range must be finite with low < high; received {grid_range!r}.")

    x_min = x.min(dim=0).values
    x_max = x.max(dim=0).values
    width = x_max - x_min
    if not bool(torch.isfinite(width).all()):
        raise ValueError(
            "The input values span more than float64 can represent. Rescale the data first."
        )
    constant = width == 0
    safe_width = torch.where(constant, torch.ones_like(width), width)

    # Interpolating as low * (1 - t) + high * t hits both ends exactly at t = 0 and t = 1.
    t = (x - x_min) / safe_width
    t = torch.where(constant, torch.full_like(t, 0.5), t)
    x_scaled = low * (1 - t) + high * t

    scale = torch.where(constant, torch.ones_like(width), (high - low) / safe_width)
    offset = torch.where(constant, (low + high) / 2 - x_min, low - x_min * scale)
    constant_columns = tuple(int(index) for index in torch.nonzero(constant).flatten())
    scaling = Scaling(scale, offset, x_min, x_max, (low, high), constant_columns)
    return x_scaled, scaling
