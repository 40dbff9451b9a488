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

from dataclasses import dataclass

import torch

__all__ = [
    "pad_knots",
    "local_basis",
    "local_basis_padded",
    "PowerTable",
    "power_table",
    "locate",
]


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
    zero. Repeating the end knot makes their denominators zero, so those values stay finite.
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

    # Interval j with t_j <= x < t_{j+1}. right=True skips the empty intervals of repeated knots.
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
        values = torch.cat(
            [falling[:, :, :1], falling[:, :, 1:] + rising[:, :, :-1], rising[:, :, -1:]], dim=2
        )

    start = interval - k
    basis_index = start[:, :, None] + torch.arange(k + 1, device=x.device)
    keep = inside[:, :, None] & (basis_index >= 0) & (basis_index < n_basis)
    values = torch.where(keep, values, torch.zeros_like(values))
    return values.transpose(0, 1), start.t()


@dataclass(frozen=True)
class PowerTable:
    """Every basis written as a polynomial on every knot interval, for fast repeated evaluation.

    Rows are indexed by ``row = searchsorted(boundaries, x, right=True)``, the number of knots
    <= x. Row r in 1..m-1 is the interval [t_{r-1}, t_r). Rows 0 (x < t_0) and m (x >= t_{m-1})
    hold zero polynomials, so points outside the knots need no masking.

    Attributes
    ----------
    poly : Tensor, shape (features, m + 1, k + 1, k + 1)
        poly[f, r, s, p] is the coefficient of u^p in N_{r-1-k+s, k}(t_{r-1} + u). Entries for
        basis indices outside [0, n - 1] are zero.
    coef_map : Tensor, shape (features, (m + 1) * (k + 1), n)
        Linear map from the n coefficients c of a spline to its power coefficients on every
        row: ``coef_map[f] @ c``, reshaped to (m + 1, k + 1), is sum_s c_{r-1-k+s} poly[f, r, s, :].
    left : Tensor, shape (features, m + 1)
        t_{r-1}, the origin of u on row r (t_0 on row 0).
    boundaries : Tensor, shape (features, m)
        The knots, except that knots equal to t_n are raised to the next representable number.
        Then x = t_n counts as below them and lands on the last non-empty interval before t_n,
        which closes the right end of the domain as `bspline_basis` does. No other point moves,
        because no number lies between t_n and its successor.
    max_width : float
        Largest interval width. Callers clamp u to [0, max_width], so far-away points cannot
        overflow u^k on the zero rows.
    exponents : Tensor, shape (k + 1,)
        0, 1, ..., k in the table's dtype.
    row_offsets : Tensor of int64, shape (features, 1)
        f * (m + 1), the first row of feature f once all features' rows are stacked.
    """

    poly: torch.Tensor
    coef_map: torch.Tensor
    left: torch.Tensor
    boundaries: torch.Tensor
    max_width: float
    exponents: torch.Tensor
    row_offsets: torch.Tensor


def power_table(knots: torch.Tensor, degree: int) -> PowerTable:
    """Expand every basis into local power form on every knot interval.

    Parameters
    ----------
    knots : Tensor, shape (features, m)
        Non-decreasing knots. The table is computed in float64 and returned in their dtype.
    degree : int

    Returns
    -------
    PowerTable

    Notes
    -----
    Runs the de Boor triangle of `local_basis_padded` on polynomials in u = x - t_j instead of
    on numbers. Multiplying by (x - t_i) adds (t_j - t_i) times the coefficients to the
    coefficients shifted up by one power. In this local variable the coefficient of u^p scales
    like 1 / width^p while u^p <= width^p, so evaluation has no large cancellation.
    """
    k = degree
    dtype = knots.dtype
    t = knots.to(torch.float64).contiguous()
    features, m = t.shape
    n_basis = m - k - 1
    intervals = m - 1

    # Knots t_{j-k+1} .. t_{j+k} of every interval j = 0..m-2, as in local_basis_padded.
    padded = pad_knots(t, k)
    index = torch.arange(intervals)[:, None] + torch.arange(1, 2 * k + 1)
    window = padded[:, index]  # (features, intervals, 2k)
    origin = t[:, :intervals, None]  # t_j

    poly = torch.zeros(features, intervals, 1, k + 1, dtype=torch.float64)
    poly[..., 0, 0] = 1.0
    for r in range(1, k + 1):
        lower = window[:, :, k - r : k]
        upper = window[:, :, k : k + r]
        span = upper - lower
        ratio = poly / torch.where(span > 0, span, torch.ones_like(span))[..., None]
        ratio = torch.where((span > 0)[..., None], ratio, torch.zeros_like(ratio))
        times_u = torch.nn.functional.pad(ratio[..., :-1], (1, 0))
        rising = (origin - lower)[..., None] * ratio + times_u  # (x - t_lower) * ratio
        falling = (upper - origin)[..., None] * ratio - times_u  # (t_upper - x) * ratio
        poly = torch.cat(
            [falling[:, :, :1], falling[:, :, 1:] + rising[:, :, :-1], rising[:, :, -1:]], dim=2
        )

    basis_index = torch.arange(intervals)[:, None] - k + torch.arange(k + 1)
    valid = (basis_index >= 0) & (basis_index < n_basis)
    poly = poly * valid[None, :, :, None]
    zero_row = torch.zeros(features, 1, k + 1, k + 1, dtype=torch.float64)
    poly = torch.cat([zero_row, poly, zero_row], dim=1)

    # Row r reads coefficients r-1-k .. r-1. Those outside [0, n - 1] meet zero polynomials.
    coef_index = torch.arange(m + 1)[:, None] - 1 - k + torch.arange(k + 1)
    selector = torch.nn.functional.one_hot(coef_index.clamp(0, n_basis - 1), n_basis)
    coef_map = torch.einsum("frsp,rsn->frpn", poly, selector.to(torch.float64))
    coef_map = coef_map.reshape(features, (m + 1) * (k + 1), n_basis)

    boundaries = knots.clone().contiguous()
    domain_end = boundaries[:, n_basis : n_basis + 1]
    closes = (boundaries == domain_end) & (_domain_end_interval(t, k) >= 0)[:, None]
    raised = torch.nextafter(boundaries, torch.full_like(boundaries, torch.inf))
    boundaries = torch.where(closes, raised, boundaries)

    return PowerTable(
        poly=poly.to(dtype),
        coef_map=coef_map.to(dtype),
        left=torch.cat([t[:, :1], t], dim=1).to(dtype),
        boundaries=boundaries,
        max_width=float((t[:, 1:] - t[:, :-1]).max()),
        exponents=torch.arange(k + 1, dtype=dtype),
        row_offsets=torch.arange(features).unsqueeze(1) * (m + 1),
    )


def locate(x_by_feature: torch.Tensor, table: PowerTable) -> tuple[torch.Tensor, torch.Tensor]:
    """Find each point's row of a `PowerTable` and its local coordinate.

    Parameters
    ----------
    x_by_feature : Tensor, shape (features, batch), contiguous, dtype of the table
    table : PowerTable

    Returns
    -------
    rows : Tensor of int64, shape (features, batch)
        In [0, m].
    u : Tensor, shape (features, batch)
        x - t_{row-1}, not clamped: values outside [0, max_width] occur only on the zero rows.
    """
    rows = torch.searchsorted(table.boundaries, x_by_feature, right=True)
    return rows, x_by_feature - torch.gather(table.left, 1, rows)
