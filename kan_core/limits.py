"""Caps on the work one session may request.

KAN Explorer may be hosted as a public site where many sessions share one small CPU. So an
entry point that sizes a model, a dataset or a training slice should check the request against
one frozen `Limits` value before doing any work. The check functions raise `ValueError` (or
`TypeError` for a value that is not an integer) with the requirement and the received value,
in plain sentences that the app can show as they are.

Which check each entry point calls:

- ``KAN(widths, grid_size, degree, ...)``: `check_widths`, `check_grid_size`, `check_degree`,
  before any tensor is allocated. Within those caps the parameter count stays below
  ``max_parameters``.
- ``MLP(widths, ...)``: `check_parameter_count` only, because an MLP matched to a KAN's
  parameter count may need layers wider than ``max_width``.
- ``KANLayer(in_features, out_features, grid_size, degree, ...)``: `check_widths` on
  ``[in_features, out_features]``, `check_grid_size`, `check_degree`.
- ``kan_core.grids.refine`` and the adaptive grid update: `check_grid_size`.
- ``make_dataset(target, n_samples, ...)``: `check_samples`.
- ``Trainer.step(n)``: `check_steps`.
- ``kan_core.expressions.parse_expression`` and ``kan_core.tabular.load_csv`` read the formula
  and CSV caps themselves.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "LIMITS",
    "Limits",
    "check_degree",
    "check_grid_size",
    "check_parameter_count",
    "check_samples",
    "check_steps",
    "check_widths",
]


@dataclass(frozen=True)
class Limits:
    """Caps on one request, shared read-only by all sessions.

    Attributes
    ----------
    max_grid_size : int
        Maximum number of grid intervals G of one spline.
    max_degree : int
        Maximum spline degree k (KAN papers call it "order").
    max_width : int
        Maximum number of nodes in any layer, including the input and output layers.
    max_depth : int
        Maximum number of KAN layers, that is ``len(widths) - 1``.
    max_parameters : int
        Maximum number of trainable parameters of one model, KAN or MLP. The largest KAN
        within the other caps, widths ``[10] * 7`` with G = 200 and k = 5, has about 127,000.
    max_samples : int
        Maximum number of generated samples in one dataset (train and test together).
    max_steps_per_tick : int
        Maximum number of optimizer steps in one call, so one live-training tick stays short.
    max_formula_length : int
        Maximum number of characters in a typed formula.
    max_formula_depth : int
        Maximum nesting depth of a formula, counted both in parentheses and in syntax-tree levels.
    max_formula_nodes : int
        Maximum number of syntax-tree nodes in a formula.
    max_formula_variables : int
        Maximum number of named inputs of a formula.
    max_literal : float
        Maximum magnitude of a number typed in a formula.
    max_literal_digits : int
        Maximum number of digits in a number typed in a formula.
    max_exponent : float
        Maximum magnitude of a constant exponent, as in ``x**10``.
    max_csv_bytes : int
        Maximum size of an uploaded CSV file in bytes. It stays below the upload limit in
        ``.streamlit/config.toml`` (``server.maxUploadSize = 2``, in megabytes), so this
        check, with its message, is the one a reader meets.
    max_csv_rows : int
        Maximum number of data rows in an uploaded CSV file.
    max_csv_columns : int
        Maximum number of columns in an uploaded CSV file.
    """

    max_grid_size: int = 200
    max_degree: int = 5
    max_width: int = 10
    max_depth: int = 6
    max_parameters: int = 200_000
    max_samples: int = 5000
    max_steps_per_tick: int = 200
    max_formula_length: int = 200
    max_formula_depth: int = 40
    max_formula_nodes: int = 150
    max_formula_variables: int = 4
    max_literal: float = 1e6
    max_literal_digits: int = 20
    max_exponent: float = 10.0
    max_csv_bytes: int = 2_000_000
    max_csv_rows: int = 20_000
    max_csv_columns: int = 50


LIMITS = Limits()


def _check_int(value: object, name: str) -> int:
    # bool is a subclass of int, but True as a grid size is a bug, not a request.
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer; received {value!r}.")
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; received {value!r}.")
    return int(value)


def _check_range(value: int, name: str, low: int, high: int, hint: str) -> None:
    if value < low:
        raise ValueError(f"{name} must be at least {low}; received {value:,}.")
    if value > high:
        raise ValueError(f"{name} must be at most {high:,}; received {value:,}. {hint}")


def check_grid_size(grid_size: int | Sequence[int], limits: Limits = LIMITS) -> None:
    """Raise unless each grid size G is an integer in ``[1, limits.max_grid_size]``.

    Parameters
    ----------
    grid_size : int or sequence of int
        One grid size, or one per layer.
    limits : Limits
        Caps to check against.

    Raises
    ------
    TypeError
        If a grid size is not an integer.
    ValueError
        If a grid size is below 1 or above the cap, or the sequence is empty.
    """
    if isinstance(grid_size, Sequence) and not isinstance(grid_size, str):
        if len(grid_size) == 0:
            raise ValueError("grid_size must contain at least one grid size; received [].")
        for size in grid_size:
            check_grid_size(size, limits)
        return
    size = _check_int(grid_size, "grid_size")
    _check_range(size, "grid_size", 1, limits.max_grid_size, "Choose a coarser grid.")


def check_degree(degree: int, limits: Limits = LIMITS) -> None:
    """Raise unless the spline degree k is an integer in ``[0, limits.max_degree]``.

    Raises
    ------
    TypeError
        If `degree` is not an integer.
    ValueError
        If `degree` is negative or above the cap.
    """
    value = _check_int(degree, "degree")
    _check_range(value, "degree", 0, limits.max_degree, "Choose a lower spline degree.")


def check_widths(widths: Sequence[int], limits: Limits = LIMITS) -> None:
    """Raise unless `widths` describes a network within the width and depth caps.

    Parameters
    ----------
    widths : sequence of int, length n_layers + 1
        Nodes per layer from input to output, for example ``[2, 5, 1]``.
    limits : Limits
        Caps to check against.

    Raises
    ------
    TypeError
        If `widths` is not a sequence or one of its entries is not an integer.
    ValueError
        If there are fewer than 2 entries, more than ``limits.max_depth + 1`` entries,
        or a width is below 1 or above ``limits.max_width``.
    """
    if not isinstance(widths, Sequence) or isinstance(widths, str):
        raise TypeError(
            f"widths must be a list of integers such as [2, 5, 1]; received {widths!r}."
        )
    if len(widths) < 2:
        raise ValueError(
            f"widths must list at least an input and an output width, such as [1, 1]; "
            f"received {list(widths)!r}."
        )
    n_layers = len(widths) - 1
    if n_layers > limits.max_depth:
        raise ValueError(
            f"A network may have at most {limits.max_depth} layers; received {n_layers} layers "
            f"from widths {list(widths)!r}. Remove some layers."
        )
    for index, width in enumerate(widths):
        value = _check_int(width, f"widths[{index}]")
        hint = "Use fewer nodes in that layer."
        _check_range(value, f"widths[{index}]", 1, limits.max_width, hint)


def check_samples(n_samples: int, limits: Limits = LIMITS) -> None:
    """Raise unless `n_samples` is an integer in ``[1, limits.max_samples]``.

    Raises
    ------
    TypeError
        If `n_samples` is not an integer.
    ValueError
        If `n_samples` is below 1 or above the cap.
    """
    value = _check_int(n_samples, "n_samples")
    _check_range(value, "n_samples", 1, limits.max_samples, "Use fewer samples.")


def check_steps(n_steps: int, limits: Limits = LIMITS) -> None:
    """Raise unless `n_steps` is an integer in ``[1, limits.max_steps_per_tick]``.

    Raises
    ------
    TypeError
        If `n_steps` is not an integer.
    ValueError
        If `n_steps` is below 1 or above the cap.
    """
    value = _check_int(n_steps, "n_steps")
    _check_range(value, "n_steps", 1, limits.max_steps_per_tick, "Train in shorter slices.")


def check_parameter_count(n_parameters: int, limits: Limits = LIMITS) -> None:
    """Raise unless a model's trainable parameter count is in ``[1, limits.max_parameters]``.

    Raises
    ------
    TypeError
        If `n_parameters` is not an integer.
    ValueError
        If `n_parameters` is below 1 or above the cap.
    """
    value = _check_int(n_parameters, "The parameter count")
    hint = "Use a narrower or shallower model, or a coarser grid."
    _check_range(value, "The parameter count", 1, limits.max_parameters, hint)
