"""Change the grid of a KAN's splines without losing the function it has learned.

Three operations act on `KANLayer` objects or on every layer of a `KAN`:

- `refine` puts a grid of a new size on the same domain and refits the coefficients by least
  squares, so a model can start with a coarse grid and continue on a finer one;
- `update_grid_from_samples` moves the knots towards the values a layer actually receives (a
  blend of sample quantiles and a uniform grid) and refits the coefficients on those values;
- `count_outside_grid` counts the inputs that fall outside each feature's grid, where a spline
  no longer has its full set of bases.

Only the spline part of an edge changes. The base path, the scales and the symbolic path keep
their values, so the whole edge keeps its function when the spline does. Fits run in float64
and the results are cast back to the layer's dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from kan_core.bspline import evaluate_spline, extend_grid, fit_coefficients
from kan_core.layer import KANLayer
from kan_core.limits import check_grid_size
from kan_core.model import KAN

__all__ = [
    "MIN_SPACING_FRACTION",
    "refined_grid",
    "refine",
    "adaptive_grid",
    "update_grid_from_samples",
    "count_outside_grid",
]

# Smallest interval an adaptive grid may have, as a share of a uniform interval (range / G).
MIN_SPACING_FRACTION = 0.1

# Fit points per new basis function when no samples are given.
_POINTS_PER_BASIS = 4


def refined_grid(grid: torch.Tensor, new_grid_size: int) -> torch.Tensor:
    """Place ``new_grid_size`` intervals on the domain of a possibly non-uniform grid.

    Parameters
    ----------
    grid : Tensor, shape (features, G + 1)
    new_grid_size : int
        Number of intervals G' of the new grid, at least 1.

    Returns
    -------
    Tensor, shape (features, G' + 1)

    Notes
    -----
    Knot j of the new grid sits at the fractional index s = j G / G' of the old grid and is
    interpolated linearly between old knots floor(s) and floor(s) + 1. A uniform grid stays
    uniform, and when G' is a multiple of G the new grid contains every old knot.
    """
    _check_grid_size("new_grid_size", new_grid_size)
    old_size = grid.shape[1] - 1
    position = torch.arange(new_grid_size + 1, dtype=torch.float64) * old_size / new_grid_size
    lower = position.floor().long().clamp(max=old_size - 1)
    weight = (position - lower).to(grid.dtype)
    refined = grid[:, lower] * (1 - weight) + grid[:, lower + 1] * weight

    # The ends must stay exactly where they were, whatever the rounding.
    refined[:, 0] = grid[:, 0]
    refined[:, -1] = grid[:, -1]
    return refined


def refine(
    model_or_layer: KAN | KANLayer,
    new_grid_size: int | Sequence[int],
    samples: torch.Tensor | None = None,
) -> KAN | KANLayer:
    """Give a layer or a model a grid of a new size on the same domain, keeping its function.

    Parameters
    ----------
    model_or_layer : KAN or KANLayer
        Changed in place and returned.
    new_grid_size : int or sequence of int
        New number of intervals G'; for a model, either one size for every layer or one per
        layer. Sizes smaller than the current one are allowed, but then the fit only
        approximates the old function.
    samples : Tensor, shape (batch, in_features), optional
        Inputs of the layer or the model. They join the fit points after clamping to each
        layer's grid, so the fit weighs the function more where the data lie.

    Returns
    -------
    KAN or KANLayer
        The same object.

    Raises
    ------
    ValueError
        If a grid size is below 1, the number of sizes differs from the number of layers, or
        the samples have the wrong shape or non-finite values.
    TypeError
        If a grid size is not an int or the object is neither a KAN nor a KANLayer.

    Notes
    -----
    The new coefficients minimise sum_x (s_new(x) - s_old(x))^2 over 4 (G' + k) points spread
    evenly over the new intervals, plus the samples. When the new spline space contains the
    old one (G' a multiple of G), the old spline is reproduced exactly, up to rounding, on the
    whole domain. Outside the domain the spline runs on the extension knots, which change with
    the grid, so the function there is not kept.
    """
    if isinstance(model_or_layer, KANLayer):
        size = _sizes_per_layer(new_grid_size, 1)[0]
        if samples is not None:
            _check_samples(samples, model_or_layer)
        _refine_layer(model_or_layer, size, samples)
        return model_or_layer
    if not isinstance(model_or_layer, KAN):
        raise TypeError(f"refine needs a KAN or a KANLayer, got {type(model_or_layer).__name__}")

    layers = list(model_or_layer.layers)
    sizes = _sizes_per_layer(new_grid_size, len(layers))
    layer_inputs: list[torch.Tensor | None] = [None] * len(layers)
    if samples is not None:
        _check_samples(samples, layers[0])
        # Every layer's inputs are taken before any grid changes.
        layer_inputs = _layer_inputs(model_or_layer, samples)
    for layer, size, inputs in zip(layers, sizes, layer_inputs):
        _refine_layer(layer, size, inputs)
    return model_or_layer


def adaptive_grid(
    x: torch.Tensor,
    grid_size: int,
    grid_eps: float = 0.02,
    margin: float = 0.01,
) -> torch.Tensor:
    """Build a grid from samples: quantiles blended with a uniform grid.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
        Finite samples, at least one row.
    grid_size : int
        Number of intervals G.
    grid_eps : float
        Blend weight in [0, 1]: 0 puts the knots at sample quantiles, 1 makes them uniform.
    margin : float
        Extra room beyond the smallest and largest sample on each side, as a share (>= 0) of
        the sample range.

    Returns
    -------
    Tensor, shape (features, G + 1)
        Strictly increasing rows from ``min - margin * range`` to ``max + margin * range``.

    Notes
    -----
    Every interval is at least ``MIN_SPACING_FRACTION * width / G`` wide, where width is the
    grid's total width, because quantiles of clustered or duplicated samples would otherwise
    give intervals of zero width. Intervals below the minimum are widened to it and the others
    shrink in proportion, so the ends stay in place. When every sample of a feature has the
    same value, that feature gets a uniform grid of width 2 centred on the value.
    """
    _check_grid_size("grid_size", grid_size)
    _check_unit_interval("grid_eps", grid_eps)
    _check_margin(margin)
    if x.ndim != 2:
        raise ValueError(f"samples must have shape (batch, features), got {tuple(x.shape)}")
    if x.shape[0] < 1:
        raise ValueError("samples must contain at least one row, got none")
    if not torch.isfinite(x).all():
        raise ValueError("samples must contain only finite numbers, found NaN or infinity")

    x = x.to(torch.float64)
    levels = torch.linspace(0, 1, grid_size + 1, dtype=torch.float64)
    quantiles = torch.quantile(x, levels, dim=0).T  # (features, G + 1)
    lower, upper = quantiles[:, :1], quantiles[:, -1:]
    spread = upper - lower

    # A constant feature has no range to scale with, so it gets a fixed width around its value.
    constant = spread <= 1e-12 * (1 + lower.abs())
    lower = torch.where(constant, lower - 1.0, lower - margin * spread)
    upper = torch.where(constant, upper + 1.0, upper + margin * spread)
    quantiles = quantiles.clamp(min=lower, max=upper)
    quantiles[:, :1], quantiles[:, -1:] = lower, upper

    uniform = lower + (upper - lower) * levels
    blended = grid_eps * uniform + (1 - grid_eps) * quantiles
    blended = torch.where(constant, uniform, blended)
    min_spacing = MIN_SPACING_FRACTION * (upper - lower) / grid_size
    return _enforce_min_spacing(blended, min_spacing)


def update_grid_from_samples(
    model_or_layer: KAN | KANLayer,
    x: torch.Tensor,
    grid_eps: float = 0.02,
    margin: float = 0.01,
    grid_size: int | Sequence[int] | None = None,
) -> KAN | KANLayer:
    """Move the grid of a layer, or of every layer of a model, to where its inputs lie.

    Parameters
    ----------
    model_or_layer : KAN or KANLayer
        Changed in place and returned.
    x : Tensor, shape (batch, in_features)
        Inputs of the layer or the model.
    grid_eps : float
        Blend weight in [0, 1] between sample quantiles (0) and a uniform grid (1).
    margin : float
        Room beyond the extreme samples, as a share (>= 0) of their range.
    grid_size : int or sequence of int, optional
        New number of intervals, one for every layer or one per layer; by default each layer
        keeps its own. A larger size refines and moves the grid in one fit.

    Returns
    -------
    KAN or KANLayer
        The same object.

    Notes
    -----
    See `adaptive_grid` for the knots and the minimum spacing. The coefficients are refitted
    to the old spline's values at the samples plus 4 (G + k) points spread over the new grid,
    so every basis has points in its support. The new space rarely contains the old spline,
    so the function is kept only approximately; the error shrinks like h^(k+1) with the
    interval width h. A model's layers are updated first to last, each on inputs recomputed
    after the layers before it changed.
    """
    _check_unit_interval("grid_eps", grid_eps)
    _check_margin(margin)
    if isinstance(model_or_layer, KANLayer):
        size = model_or_layer.grid_size if grid_size is None else grid_size
        size = _sizes_per_layer(size, 1, "grid_size")[0]
        _update_layer(model_or_layer, _check_samples(x, model_or_layer), size, grid_eps, margin)
        return model_or_layer
    if not isinstance(model_or_layer, KAN):
        raise TypeError(
            f"update_grid_from_samples needs a KAN or a KANLayer, got {type(model_or_layer).__name__}"
        )

    layers = list(model_or_layer.layers)
    if grid_size is None:
        sizes = [layer.grid_size for layer in layers]
    else:
        sizes = _sizes_per_layer(grid_size, len(layers), "grid_size")
    _check_samples(x, layers[0])
    for index, (layer, size) in enumerate(zip(layers, sizes)):
        inputs = _layer_inputs(model_or_layer, x)[index]
        _update_layer(layer, inputs, size, grid_eps, margin)
    return model_or_layer


def count_outside_grid(
    model_or_layer: KAN | KANLayer, inputs: torch.Tensor
) -> torch.Tensor | list[torch.Tensor]:
    """Count the inputs of each feature that fall outside its grid.

    Parameters
    ----------
    model_or_layer : KAN or KANLayer
    inputs : Tensor, shape (batch, in_features)
        Inputs of the layer or of the model's first layer.

    Returns
    -------
    Tensor of int64, shape (in_features,), for a layer; for a model, a list with one such
    tensor per layer.
        Number of values below ``grid[:, 0]`` or above ``grid[:, -1]``.
    """
    if isinstance(model_or_layer, KANLayer):
        return _count_layer(model_or_layer, _check_samples(inputs, model_or_layer))
    if not isinstance(model_or_layer, KAN):
        raise TypeError(
            f"count_outside_grid needs a KAN or a KANLayer, got {type(model_or_layer).__name__}"
        )
    layers = list(model_or_layer.layers)
    _check_samples(inputs, layers[0])
    per_layer = _layer_inputs(model_or_layer, inputs)
    return [_count_layer(layer, values) for layer, values in zip(layers, per_layer)]


def _refine_layer(layer: KANLayer, new_grid_size: int, samples: torch.Tensor | None) -> None:
    degree = layer.degree
    grid = layer.grid.to(torch.float64)
    new_grid = refined_grid(grid, new_grid_size)

    points = _spread_points(new_grid, new_grid_size + degree)
    if samples is not None:
        inside = samples.to(torch.float64).clamp(min=grid[:, 0], max=grid[:, -1])
        points = torch.cat([points, inside], dim=0)
    _refit(layer, new_grid, points)


def _update_layer(
    layer: KANLayer, x: torch.Tensor, grid_size: int, grid_eps: float, margin: float
) -> None:
    new_grid = adaptive_grid(x, grid_size, grid_eps, margin)
    points = torch.cat([x.to(torch.float64), _spread_points(new_grid, grid_size + layer.degree)])
    _refit(layer, new_grid, points)


def _refit(layer: KANLayer, new_grid: torch.Tensor, points: torch.Tensor) -> None:
    degree = layer.degree
    with torch.no_grad():
        old_knots = layer.knots.to(torch.float64)
        old_values = evaluate_spline(points, old_knots, layer.coef.to(torch.float64), degree)
        new_coef = fit_coefficients(points, old_values, extend_grid(new_grid, degree), degree)
        layer.set_grid(new_grid.to(layer.grid.dtype), new_coef.to(layer.coef.dtype))


def _spread_points(grid: torch.Tensor, n_basis: int) -> torch.Tensor:
    # Same count in every interval, at the interval's centred fractions, plus both ends.
    grid_size = grid.shape[1] - 1
    per_interval = max(2, math.ceil(_POINTS_PER_BASIS * n_basis / grid_size))
    fractions = (torch.arange(per_interval, dtype=grid.dtype) + 0.5) / per_interval
    starts, widths = grid[:, :-1], grid[:, 1:] - grid[:, :-1]
    inner = starts[:, :, None] + widths[:, :, None] * fractions  # (features, G, per_interval)
    points = torch.cat([grid[:, :1], inner.flatten(1), grid[:, -1:]], dim=1)
    return points.T.contiguous()  # (points, features)


def _enforce_min_spacing(grid: torch.Tensor, min_spacing: torch.Tensor) -> torch.Tensor:
    # Clamp short intervals to the minimum and shrink the free ones so the width is unchanged.
    # Each pass fixes at least one more interval, so G passes always suffice.
    steps = grid[:, 1:] - grid[:, :-1]
    width = grid[:, -1:] - grid[:, :1]
    fixed = torch.zeros_like(steps, dtype=torch.bool)
    for _ in range(steps.shape[1]):
        fixed = fixed | (steps < min_spacing)
        free_width = width - (fixed * min_spacing).sum(dim=1, keepdim=True)
        free_sum = torch.where(fixed, 0.0, steps).sum(dim=1, keepdim=True)
        scale = torch.where(free_sum > 0, free_width / free_sum.clamp(min=1e-300), 1.0)
        steps = torch.where(fixed, min_spacing.expand_as(steps), steps * scale)
        if not (steps < min_spacing * (1 - 1e-9)).any():
            break
    cumulative = torch.cat([torch.zeros_like(width), steps.cumsum(dim=1)], dim=1)
    result = grid[:, :1] + cumulative
    result[:, -1:] = grid[:, -1:]
    return result


def _count_layer(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    grid = layer.grid.to(x.dtype)
    outside = (x < grid[:, 0]) | (x > grid[:, -1])
    return outside.sum(dim=0)


def _layer_inputs(model: KAN, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        _, intermediates = model(x.to(model.layers[0].coef.dtype), return_intermediates=True)
    return [record["inputs"].detach() for record in intermediates]


def _sizes_per_layer(
    grid_size: int | Sequence[int], n_layers: int, name: str = "new_grid_size"
) -> list[int]:
    if isinstance(grid_size, int) and not isinstance(grid_size, bool):
        sizes = [grid_size] * n_layers
    elif isinstance(grid_size, Sequence):
        sizes = list(grid_size)
        if len(sizes) != n_layers:
            raise ValueError(
                f"{name} must be one int or one per layer ({n_layers}), got {len(sizes)} values"
            )
    else:
        raise TypeError(f"{name} must be an int, got {type(grid_size).__name__}")
    for size in sizes:
        _check_grid_size(name, size)
    return sizes


def _check_samples(samples: torch.Tensor, layer: KANLayer) -> torch.Tensor:
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"samples must be a torch.Tensor, got {type(samples).__name__}")
    in_features = layer.grid.shape[0]
    if samples.ndim != 2:
        raise ValueError(
            f"samples must have shape (batch, {in_features}), got {tuple(samples.shape)}"
        )
    if samples.shape[1] != in_features:
        raise ValueError(
            f"samples must have {in_features} columns, one per input, got {samples.shape[1]}"
        )
    if samples.shape[0] < 1:
        raise ValueError("samples must contain at least one row, got none")
    if not torch.isfinite(samples).all():
        raise ValueError("samples must contain only finite numbers, found NaN or infinity")
    return samples


def _check_grid_size(name: str, size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"{name} must be an int, got {type(size).__name__}")
    if size < 1:
        raise ValueError(f"{name} must be at least 1, got {size}")
    # The per-session cap keeps one reader's refinement from stalling a shared server.
    check_grid_size(size)


def _check_unit_interval(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


def _check_margin(margin: float) -> None:
    if not isinstance(margin, (int, float)) or isinstance(margin, bool):
        raise TypeError(f"margin must be a number, got {type(margin).__name__}")
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
