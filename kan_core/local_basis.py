"""Fast B-spline evaluation that computes only the k + 1 bases that can be non-zero.

At a point x inside the knot interval [t_j, t_{j+1}), only N_{j-k,k}, ..., N_{j,k} can be
non-zero. `local_basis` finds j with one ``torch.searchsorted`` per feature and then runs
the Cox-de Boor recursion on that window alone (the triangular scheme of de Boor, also
Algorithm A2.2 in Piegl and Tiller, "The NURBS Book"). The cost is O(k^2) per point instead of
the O(m k) of the full recursion in `kan_core.bspline.bspline_basis`, which stays the reference
that the tests compare with.

Conventions are those of `bspline_basis`: knots ``t`` of shape (features, m), degree ``k``,
n = m - k - 1 bases; half-open knot intervals except that x = t_{n} (the right end of the
domain) belongs to the last non-empty interval before it; a fraction with a zero denominator
(repeated knots) is 0; every basis is zero outside [t_0, t_{m-1}].
"""

from __future__ import annotations

import torch

__all__ = ["pad_knots", "local_basis", "local_basis_padded"]


def pad_knots(knots: torch.Tensor, degree: int) -> torch.Tensor:
    """Repeat the end knots ``degree`` times on each side, as `local_basis_padded` expects.

    Parameters
    ----------
    knots : Tensor, shape (features, m)
    degree : int

    Returns
    -------
    Tensor, shape (features, m + 2k)

    Notes
    -----
    The window of a point in the first or last k intervals reaches past the real knots. The
    padded knots only feed bases with an index outside [0, n - 1], which `local_basis` sets to
    zero; repeating the end knot makes their denominators zero, so they stay finite.
    """
    if degree == 0:
        return knots.contiguous()
    left = knots[:, :1].expand(-1, degree)
    right = knots[:, -1:].expand(-1, degree)
    return torch.cat([left, knots, right], dim=1).contiguous()


def _domain_end_interval(knots: torch.Tensor, degree: int) -> torch.Tensor:
    # Index of the last non-empty interval [t_i, t_{i+1}) with i < n, or -1 if there is none.
    n_basis = knots.shape[1] - degree - 1
    nonempty = knots[:, 1 : n_basis + 1] > knots[:, :n_basis]
    positions = torch.arange(n_basis, device=knots.device).expand_as(nonempty)
    return torch.where(nonempty, positions, -1).max(dim=1).values


def local_basis(
    x: torch.Tensor, knots: torch.Tensor, degree: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Evaluate the k + 1 B-spline bases that can be non-zero at each point.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
        Evaluation points. Points outside [t_0, t_{m-1}] get all-zero values.
    knots : Tensor, shape (features, m)
        Non-decreasing knots per feature (not validated here, because this function runs on
        every training step), with m >= k + 2.
    degree : int
        Spline degree k >= 0.

    Returns
    -------
    values : Tensor, shape (batch, features, k + 1)
        values[b, f, s] = N_{start + s, k}(x[b, f]); entries whose basis index start + s lies
        outside [0, n - 1] are zero.
    start : Tensor of int64, shape (batch, features)
        Index of the first basis of the window, in [-k, n - 1]. It is negative (or the window
        ends past n - 1) only near the outer knots, where fewer than k + 1 bases exist.

    Raises
    ------
    ValueError
        If the shapes of x and knots do not match or there are too few knots.

    Notes
    -----
    Agrees with ``kan_core.bspline.bspline_basis(x, knots, k)`` scattered to the full width
    (tested to 1e-12 in float64) and is differentiable in x.
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape (batch, features), got {tuple(x.shape)}")
    if knots.ndim != 2:
        raise ValueError(f"knots must have shape (features, m), got {tuple(knots.shape)}")
    if x.shape[1] != knots.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features but knots has {knots.shape[0]} rows; they must match"
        )
    if degree < 0:
        raise ValueError(f"degree must be at least 0, got {degree}")
    if knots.shape[1] < degree + 2:
        raise ValueError(
            f"a degree-{degree} spline needs at least {degree + 2} knots, got {knots.shape[1]}"
        )

    knots = knots.to(dtype=x.dtype, device=x.device)
    end_interval = _domain_end_interval(knots, degree)
    return local_basis_padded(x, knots, pad_knots(knots, degree), end_interval, degree)


def local_basis_padded(
    x: torch.Tensor,
    knots: torch.Tensor,
    padded_knots: torch.Tensor,
    end_interval: torch.Tensor,
    degree: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run `local_basis` with the knot preprocessing done once by the caller.

    `kan_core.layer.KANLayer` calls this on every forward pass with buffers it recomputes only
    when its grid changes. Inputs are not validated.

    Parameters
    ----------
    x : Tensor, shape (batch, features)
    knots : Tensor, shape (features, m), contiguous, dtype of x
    padded_knots : Tensor, shape (features, m + 2k)
        ``pad_knots(knots, degree)``.
    end_interval : Tensor of int64, shape (features,)
        Last non-empty interval before t_n, or -1 (see `local_basis`).
    degree : int

    Returns
    -------
    values, start : as in `local_basis`.
    """
    k = degree
    m = knots.shape[1]
    n_basis = m - k - 1
    x_by_feature = x.t().contiguous()  # (features, batch): searchsorted wants rows of knots

    # Interval j with t_j <= x < t_{j+1}; right=True skips empty intervals of repeated knots.
    interval = torch.searchsorted(knots, x_by_feature, right=True) - 1
    at_domain_end = x_by_feature == knots[:, n_basis : n_basis + 1]
    interval = torch.where(at_domain_end, end_interval[:, None], interval)
    inside = (interval >= 0) & (interval <= m - 2)
    interval = interval.clamp(0, m - 2)

    # Knots t_{j-k+1} .. t_{j+k}: padded index (j - k + 1) + k + r = j + 1 + r.
    if k > 0:
        offsets = torch.arange(1, 2 * k + 1, device=x.device)
        window = torch.gather(
            padded_knots, 1, (interval[:, :, None] + offsets).reshape(knots.shape[0], -1)
        ).reshape(knots.shape[0], -1, 2 * k)
    x_col = x_by_feature.unsqueeze(-1)

    # Triangle: at level r the r entries are N_{j-r+1+s, r-1}, s = 0..r-1.
    values = torch.ones_like(x_col)
    for r in range(1, k + 1):
        lower = window[:, :, k - r : k]  # t_{j-r+1+s}
        upper = window[:, :, k : k + r]  # t_{j+1+s}
        span = upper - lower
        nonzero = span > 0
        ratio = values / torch.where(nonzero, span, torch.ones_like(span))
        ratio = torch.where(nonzero, ratio, torch.zeros_like(ratio))
        rising = (x_col - lower) * ratio  # contributes to N_{j-r+1+s, r}
        falling = (upper - x_col) * ratio  # contributes to N_{j-r+s, r}
        values = torch.cat([falling[:, :, :1], falling[:, :, 1:] + rising[:, :, :-1], rising[:, :, -1:]], dim=2)

    start = interval - k
    basis_index = start[:, :, None] + torch.arange(k + 1, device=x.device)
    keep = inside[:, :, None] & (basis_index >= 0) & (basis_index < n_basis)
    values = torch.where(keep, values, torch.zeros_like(values))
    return values.transpose(0, 1), start.t()
