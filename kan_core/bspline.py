"""B-spline bases, least-squares fits and spline evaluation in PyTorch.

Vocabulary shared by all of ``kan_core``:

- knots ``t``: a non-decreasing vector t_0 <= t_1 <= ... <= t_{m-1} per feature, shape
  ``(features, m)``; repeated knots are allowed;
- degree ``k``: the polynomial degree of each piece (KAN papers call it the "order");
- grid size ``G``: the number of intervals of a grid, which therefore has G + 1 points;
- coefficients ``c``: one per basis function; a knot vector of m knots carries
  n = m - k - 1 bases N_{0,k}, ..., N_{n-1,k}.

A grid of G + 1 points is the domain. `extend_grid` adds k knots on each side, so the
extended vector has G + 1 + 2k knots, G + k bases, and exactly k + 1 bases that can be
non-zero at every point of the domain. The domain of a knot vector is [t_k, t_{m-k-1}].

All functions take dtype and device from their inputs. Use float64 where accuracy matters:
the tests compare with SciPy at 1e-12.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "MAX_DEGREE",
    "uniform_grid",
    "validate_knots",
    "extend_grid",
    "bspline_basis",
    "fit_coefficients",
    "evaluate_spline",
    "spline_derivative",
    "greville_abscissae",
]

MAX_DEGREE = 5


def _check_degree(degree: int) -> None:
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise TypeError(f"degree must be an int, got {type(degree).__name__}")
    if degree < 0 or degree > MAX_DEGREE:
        raise ValueError(f"degree must be between 0 and {MAX_DEGREE}, got {degree}")


def _check_finite(name: str, values: torch.Tensor) -> None:
    if not torch.isfinite(values).all():
        bad = values[~torch.isfinite(values)].flatten()[0].item()
        raise ValueError(f"{name} must contain only finite numbers, found {bad}")


def uniform_grid(
    grid_size: int,
    grid_range: Sequence[float] = (-1.0, 1.0),
    features: int = 1,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Build a uniform grid of ``grid_size`` intervals over ``grid_range``.

    Parameters
    ----------
    grid_size : int
        Number of intervals G, at least 1.
    grid_range : pair of float
        Lower and upper end of the domain, lower < upper.
    features : int
        Number of identical rows, one per input feature.
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape (features, G + 1)

    Raises
    ------
    ValueError
        If G < 1, features < 1, or the range is not finite and increasing.
    """
    if isinstance(grid_size, bool) or not isinstance(grid_size, int):
        raise TypeError(f"grid_size must be an int, got {type(grid_size).__name__}")
    if grid_size < 1:
        raise ValueError(f"grid_size must be at least 1, got {grid_size}")
    if features < 1:
        raise ValueError(f"features must be at least 1, got {features}")
    if len(grid_range) != 2:
        raise ValueError(f"grid_range must be a pair (lower, upper), got {tuple(grid_range)}")
    lower, upper = float(grid_range[0]), float(grid_range[1])
    if not (torch.isfinite(torch.tensor([lower, upper])).all()):
        raise ValueError(f"grid_range must be finite, got ({lower}, {upper})")
    if lower >= upper:
        raise ValueError(f"grid_range must have lower < upper, got ({lower}, {upper})")

    row = torch.linspace(lower, upper, grid_size + 1, dtype=dtype)
    return row.expand(features, -1).clone()


def validate_knots(knots: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Check a knot vector and return it as a 2-D floating tensor.

    Parameters
    ----------
    knots : Tensor or sequence of float, shape (m,) or (features, m)

    Returns
    -------
    Tensor, shape (features, m)
        A 1-D input becomes a single row; integer input becomes float64.

    Raises
    ------
    ValueError
        If the knots are empty, not finite, or decrease anywhere.
    """
    t = torch.as_tensor(knots)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise ValueError(f"knots must have shape (m,) or (features, m), got {tuple(t.shape)}")
    if t.shape[1] < 2:
        raise ValueError(f"knots must contain at least 2 values, got {t.shape[1]}")
    _check_finite("knots", t)

    steps = t[:, 1:] - t[:, :-1]
    if (steps < 0).any():
        feature, index = (steps < 0).nonzero()[0].tolist()
        raise ValueError(
            "knots must be non-decreasing, but knot "
            f"{index + 1} ({t[feature, index + 1].item():g}) is smaller than knot "
            f"{index} ({t[feature, index].item():g})"
        )
    return t


def extend_grid(grid: torch.Tensor, degree: int) -> torch.Tensor:
    """Add ``degree`` knots beyond each end of a grid.

    The new knots on the left repeat the width of the first interval, and those on the right
    repeat the width of the last one, so a uniform grid stays uniform. Where an end interval has
    zero width (a repeated end knot), the mean interval width of that row is used instead.

    Parameters
    ----------
    grid : Tensor, shape (features, G + 1)
        Non-decreasing rows with G >= 1 and a positive total width.
    degree : int
        Spline degree k, 0 to ``MAX_DEGREE``.

    Returns
    -------
    Tensor, shape (features, G + 1 + 2k)
    """
    _check_degree(degree)
    grid = validate_knots(grid)
    width = grid[:, -1] - grid[:, 0]
    if (width <= 0).any():
        raise ValueError(f"grid rows must span a positive width, got widths {width.tolist()}")
    if degree == 0:
        return grid.clone()

    mean_step = width / (grid.shape[1] - 1)
    left_step = grid[:, 1] - grid[:, 0]
    right_step = grid[:, -1] - grid[:, -2]
    left_step = torch.where(left_step > 0, left_step, mean_step)
    right_step = torch.where(right_step > 0, right_step, mean_step)

    offsets = torch.arange(1, degree + 1, dtype=grid.dtype, device=grid.device)
    left = grid[:, :1] - left_step[:, None] * offsets.flip(0)
    right = grid[:, -1:] + right_step[:, None] * offsets
    return torch.cat([left, grid, right], dim=1)


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, degree: int) -> torch.Tensor:
    """Evaluate every B-spline basis function with the Cox-de Boor recursion.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
        Finite evaluation points.
    knots : Tensor, shape (features, m)
        Full knot vector per feature, with m >= k + 2. Pass ``extend_grid(grid, k)`` to get the
        G + k bases of a KAN edge.
    degree : int
        Spline degree k, 0 to ``MAX_DEGREE``.

    Returns
    -------
    Tensor, shape (batch, features, m - k - 1)
        N_{i,k}(x) in the dtype of ``x``.

    Raises
    ------
    ValueError
        For a degree outside 0..5, non-finite x, mismatched shapes, or invalid knots.

    Notes
    -----
    Degree 0 uses half-open intervals [t_i, t_{i+1}), except that the right end of the domain,
    x = t_{m-k-1}, belongs to the last non-empty interval before it. Without that exception every
    basis would vanish there and the curve would drop to zero at the end of its own domain.
    Higher degrees follow

        N_{i,d}(x) = (x - t_i) / (t_{i+d} - t_i) N_{i,d-1}(x)
                     + (t_{i+d+1} - x) / (t_{i+d+1} - t_{i+1}) N_{i+1,d-1}(x),

    where a fraction whose denominator is zero (repeated knots) counts as 0. Outside
    [t_0, t_{m-1}] every basis is zero; between t_0 and t_k, or t_{m-k-1} and t_{m-1}, fewer
    than k + 1 bases overlap, so the bases no longer sum to one there.
    """
    _check_degree(degree)
    t = validate_knots(knots).to(dtype=x.dtype, device=x.device)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (batch, features), got {tuple(x.shape)}")
    if x.shape[1] != t.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features but knots has {t.shape[0]} rows; they must match"
        )
    if t.shape[1] < degree + 2:
        raise ValueError(
            f"a degree-{degree} spline needs at least {degree + 2} knots, got {t.shape[1]}"
        )
    _check_finite("x", x)

    xe = x.unsqueeze(-1)
    left, right = t[:, :-1], t[:, 1:]
    basis = ((xe >= left) & (xe < right)).to(x.dtype)

    # Close the right end of the domain: x == t_n goes to the last non-empty interval before n.
    n_basis = t.shape[1] - degree - 1
    domain_end = t[:, n_basis]
    nonempty = (right > left)[:, :n_basis]
    positions = torch.arange(n_basis, device=x.device).expand_as(nonempty)
    last_interval = torch.where(nonempty, positions, -1).max(dim=1).values
    at_end = (x == domain_end) & (last_interval >= 0)
    if at_end.any():
        closing = torch.nn.functional.one_hot(last_interval.clamp(min=0), basis.shape[-1])
        basis = torch.where(at_end.unsqueeze(-1), closing.to(x.dtype), basis)

    for d in range(1, degree + 1):
        t_i, t_id = t[:, : -d - 1], t[:, d:-1]
        t_i1, t_id1 = t[:, 1:-d], t[:, d + 1 :]
        rising = _safe_ratio(xe - t_i, t_id - t_i)
        falling = _safe_ratio(t_id1 - xe, t_id1 - t_i1)
        basis = rising * basis[..., :-1] + falling * basis[..., 1:]
    return basis


def _safe_ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    # Repeated knots make 0/0 terms; they are defined as 0. Dividing by a placeholder of 1
    # keeps the discarded branch finite, so gradients stay finite too.
    nonzero = denominator > 0
    safe = torch.where(nonzero, denominator, torch.ones_like(denominator))
    return torch.where(nonzero, numerator / safe, torch.zeros_like(numerator))


def fit_coefficients(
    x: torch.Tensor,
    y: torch.Tensor,
    knots: torch.Tensor,
    degree: int,
    ridge: float = 1e-8,
) -> torch.Tensor:
    """Fit spline coefficients to samples by linear least squares, one fit per feature.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
    y : Tensor, shape (batch, features) or (batch, features, out)
        Targets; a trailing ``out`` dimension fits several curves that share the inputs of a
        feature, as the edges leaving one KAN input do.
    knots : Tensor, shape (features, m)
    degree : int
    ridge : float
        Weight lambda of the penalty lambda * |c|^2 used only when a system is rank-deficient.

    Returns
    -------
    Tensor, shape (features, n_basis) or (features, out, n_basis)

    Notes
    -----
    A system is rank-deficient when there are fewer samples than bases or when some basis has
    no sample in its support. Plain least squares leaves those coefficients arbitrary; the ridge
    fallback sets them to the smallest values that keep the fit, which is zero for a basis that
    no sample touches.
    """
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge}")
    if y.shape[:2] != x.shape:
        raise ValueError(
            f"y must start with the shape of x {tuple(x.shape)}, got {tuple(y.shape)}"
        )
    if y.ndim not in (2, 3):
        raise ValueError(f"y must have 2 or 3 dimensions, got shape {tuple(y.shape)}")
    _check_finite("y", y)

    design = bspline_basis(x, knots, degree).permute(1, 0, 2)  # (features, batch, n_basis)
    targets = y.permute(1, 0, 2) if y.ndim == 3 else y.T.unsqueeze(-1)  # (features, batch, out)
    n_basis = design.shape[-1]

    solution = torch.linalg.lstsq(design, targets, driver="gelsy")
    coefficients = solution.solution
    if (solution.rank < n_basis).any() and ridge > 0:
        eye = torch.eye(n_basis, dtype=design.dtype, device=design.device)
        penalty = (ridge**0.5) * eye.expand(design.shape[0], -1, -1)
        augmented = torch.cat([design, penalty], dim=1)
        zeros = targets.new_zeros(targets.shape[0], n_basis, targets.shape[2])
        coefficients = torch.linalg.lstsq(
            augmented, torch.cat([targets, zeros], dim=1), driver="gelsy"
        ).solution

    # (features, n_basis, out) -> (features, out, n_basis)
    coefficients = coefficients.transpose(1, 2)
    return coefficients if y.ndim == 3 else coefficients.squeeze(1)


def evaluate_spline(
    x: torch.Tensor, knots: torch.Tensor, c: torch.Tensor, degree: int
) -> torch.Tensor:
    """Evaluate the spline sum_i c_i N_{i,k}(x) for each feature.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
    knots : Tensor, shape (features, m)
    c : Tensor, shape (features, n_basis) or (features, out, n_basis)
    degree : int

    Returns
    -------
    Tensor, shape (batch, features) or (batch, features, out)
    """
    basis = bspline_basis(x, knots, degree)
    if c.shape[0] != basis.shape[1] or c.shape[-1] != basis.shape[2]:
        raise ValueError(
            f"c must have shape ({basis.shape[1]}, [out,] {basis.shape[2]}), got {tuple(c.shape)}"
        )
    c = c.to(basis.dtype)
    if c.ndim == 2:
        return torch.einsum("bfn,fn->bf", basis, c)
    if c.ndim == 3:
        return torch.einsum("bfn,fon->bfo", basis, c)
    raise ValueError(f"c must have 2 or 3 dimensions, got shape {tuple(c.shape)}")


def spline_derivative(
    x: torch.Tensor, knots: torch.Tensor, c: torch.Tensor, degree: int
) -> torch.Tensor:
    """Evaluate the first derivative of a spline in x.

    Same shapes as `evaluate_spline`.

    Notes
    -----
    The derivative of a degree-k spline is a degree-(k-1) spline on the knots t_1..t_{m-2} with
    coefficients k (c_{i+1} - c_i) / (t_{i+k+1} - t_{i+1}); a zero-width denominator gives 0. A
    degree-k spline on simple knots is k-1 times continuously differentiable, so the derivative
    of a degree-1 spline jumps at the knots and that of degree 0 is zero almost everywhere.
    """
    _check_degree(degree)
    t = validate_knots(knots).to(dtype=x.dtype, device=x.device)
    if degree == 0:
        return evaluate_spline(x, t, c, degree) * 0

    span = t[:, degree + 1 : -1] - t[:, 1 : -degree - 1]  # (features, n_basis - 1)
    if c.ndim == 3:
        span = span.unsqueeze(1)
    c = c.to(x.dtype)
    steps = c[..., 1:] - c[..., :-1]
    derivative_c = degree * _safe_ratio(steps, span.expand_as(steps))
    return evaluate_spline(x, t[:, 1:-1], derivative_c, degree - 1)


def greville_abscissae(knots: torch.Tensor, degree: int) -> torch.Tensor:
    """Return the Greville abscissae, where each coefficient's control point is drawn.

    Parameters
    ----------
    knots : Tensor, shape (features, m)
    degree : int

    Returns
    -------
    Tensor, shape (features, m - k - 1)
        xi_i = (t_{i+1} + ... + t_{i+k}) / k; for k = 0 the interval midpoints.
    """
    _check_degree(degree)
    t = validate_knots(knots)
    if t.shape[1] < degree + 2:
        raise ValueError(
            f"a degree-{degree} spline needs at least {degree + 2} knots, got {t.shape[1]}"
        )
    if degree == 0:
        return (t[:, :-1] + t[:, 1:]) / 2
    return t[:, 1:-1].unfold(1, degree, 1).mean(dim=-1)
