"""One Kolmogorov-Arnold layer: a learnable activation on every edge, summed at each output.

Edge (i, j) maps input i to a contribution to output j:

    phi_ij(x) = spline_mask_ij * (scale_base_ij * b(x) + scale_spline_ij * sum_s c_ijs N_s(x))
                + symbolic_mask_ij * (a_ij * f_ij(b_ij * x + c_ij) + d_ij),

with the residual base b = SiLU (or no base), B-spline bases N_s on the extended grid of input i
(`kan_core.bspline.extend_grid`), and a function f_ij from `kan_core.symbolic_library.LIBRARY`.
Output j is sum_i phi_ij(x_i). This is the layer of pykan 0.2.8 (the KANLayer and
Symbolic_KANLayer pair), written as one module.

Outside the extended grid every basis is zero, so an edge whose input leaves its grid keeps only
the base term. A network without a base loses that signal entirely.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from kan_core.bspline import extend_grid, uniform_grid, validate_knots
from kan_core.fused import kan_layer_sum
from kan_core.limits import check_degree, check_grid_size, check_widths
from kan_core.local_basis import (
    PowerTable,
    locate,
    local_basis_padded,
    pad_knots,
    power_table,
)

__all__ = ["KANLayer", "BASE_ACTIVATIONS"]

BASE_ACTIVATIONS = ("silu", None)

def _end_interval(knots: torch.Tensor, degree: int) -> torch.Tensor:
    n_basis = knots.shape[1] - degree - 1
    nonempty = knots[:, 1 : n_basis + 1] > knots[:, :n_basis]
    positions = torch.arange(n_basis, device=knots.device).expand_as(nonempty)
    return torch.where(nonempty, positions, -1).max(dim=1).values


def _is_current(key: tuple | None, tensor: torch.Tensor) -> bool:
    # A cache key stores the tensor itself and its in-place version counter. Keeping the
    # tensor alive means no other tensor can take its id, and load_state_dict or any other
    # in-place write bumps the version.
    return key is not None and key[0] is tensor and key[1] == tensor._version


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


class KANLayer(nn.Module):
    """A layer of ``in_features * out_features`` learnable edge activations.

    Parameters
    ----------
    in_features, out_features : int
    grid_size : int
        Number of grid intervals G per input; each edge has G + k coefficients.
    degree : int
        Spline degree k (KAN papers call it the order), 0 to 5.
    grid_range : pair of float
        Domain of every input's grid, lower < upper. `set_grid` can later give each input its
        own, possibly non-uniform, grid.
    base_activation : {"silu", None}
        Residual base b(x); None drops the base term.
    trainable_scales : bool
        Train ``scale_base`` and ``scale_spline``; when False they stay at their initial values.
    noise_scale : float
        Width of the initial coefficient noise, >= 0.
    dtype : torch.dtype
        float32 or float64.
    generator : torch.Generator or None
        Source of the initial noise; None uses torch's global generator.

    Attributes
    ----------
    grid : buffer, shape (in_features, G + 1)
    knots : buffer, shape (in_features, G + 1 + 2k)
        ``extend_grid(grid, k)``.
    spline_mask, symbolic_mask : buffers, shape (in_features, out_features)
        1.0 turns the spline-plus-base path or the symbolic path of an edge on. A pruned edge has
        both at 0.
    coef : Parameter, shape (in_features, out_features, G + k)
    scale_base, scale_spline : Parameter, shape (in_features, out_features)
    symbolic_params : Parameter, shape (in_features, out_features, 4)
        a, b, c, d of a * f(b x + c) + d; initialised to (1, 1, 0, 0).
    symbolic_names : list of list of (str or None)
        ``symbolic_names[i][j]`` is the LIBRARY key of edge (i, j), or None.

    Notes
    -----
    Initialisation: coefficients are drawn uniformly from [-noise_scale / 2, noise_scale / 2], so
    the initial spline stays within that band (the bases sum to at most 1). Drawing replaces the
    least-squares fit of noise that pykan 0.2.8 uses, and both give a small random curve.
    ``scale_base`` is 1 / sqrt(in_features), so that the base terms of all inputs sum to O(1),
    and ``scale_spline`` is 1. The noise is drawn in float64 and then converted, so float32 and
    float64 layers built from the same generator state start from the same function.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        degree: int = 3,
        grid_range: Sequence[float] = (-1.0, 1.0),
        base_activation: str | None = "silu",
        trainable_scales: bool = True,
        noise_scale: float = 0.1,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_positive_int("in_features", in_features)
        _check_positive_int("out_features", out_features)
        _check_positive_int("grid_size", grid_size)
        # Per-session caps: a shared server must not build a layer one reader cannot afford.
        check_widths([in_features, out_features])
        check_grid_size(grid_size)
        check_degree(degree)
        if base_activation not in BASE_ACTIVATIONS:
            raise ValueError(
                f"base_activation must be one of {BASE_ACTIVATIONS}, got {base_activation!r}"
            )
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if not math.isfinite(noise_scale):
            raise ValueError(f"noise_scale must be finite, got {noise_scale}")
        if noise_scale < 0:
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")

        self.in_features = in_features
        self.out_features = out_features
        self.degree = degree
        self.base_activation = base_activation
        self.trainable_scales = trainable_scales

        grid = uniform_grid(grid_size, grid_range, in_features, dtype=torch.float64)
        knots = extend_grid(grid, degree)  # also validates the degree
        self.register_buffer("grid", grid.to(dtype))
        self.register_buffer("knots", knots.to(dtype))
        self.register_buffer("spline_mask", torch.ones(in_features, out_features, dtype=dtype))
        self.register_buffer("symbolic_mask", torch.zeros(in_features, out_features, dtype=dtype))

        n_basis = grid_size + degree
        shape = (in_features, out_features, n_basis)
        noise = torch.rand(shape, generator=generator, dtype=torch.float64)
        self.coef = nn.Parameter(((noise - 0.5) * noise_scale).to(dtype))
        base = torch.full((in_features, out_features), 1.0 / math.sqrt(in_features), dtype=dtype)
        trains_base = trainable_scales and base_activation is not None
        self.scale_base = nn.Parameter(base, requires_grad=trains_base)
        self.scale_spline = nn.Parameter(
            torch.ones(in_features, out_features, dtype=dtype), requires_grad=trainable_scales
        )
        affine = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=dtype)
        self.symbolic_params = nn.Parameter(affine.repeat(in_features, out_features, 1))
        self.symbolic_names: list[list[str | None]] = [
            [None] * out_features for _ in range(in_features)
        ]

        self._knot_cache_key: tuple | None = None
        self._cache: tuple = ()
        self._symbolic_cache_key: tuple | None = None
        self._mask_cache_key: tuple | None = None
        self._mask_all_ones = True
        self._symbolic_edges: list[tuple[int, int]] = []

    # ----------------------------------------------------------------- sizes

    @property
    def grid_size(self) -> int:
        """Number of grid intervals G."""
        return self.grid.shape[1] - 1

    @property
    def n_basis(self) -> int:
        """Number of coefficients per edge, G + k."""
        return self.grid_size + self.degree

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"grid_size={self.grid_size}, degree={self.degree}, "
            f"base_activation={self.base_activation!r}"
        )

    # ----------------------------------------------------------------- grid

    def set_grid(self, grid: torch.Tensor, coef: torch.Tensor) -> None:
        """Replace the grid and the coefficients together.

        The coefficient tensor keeps its identity as a Parameter (only its data changes), so an
        optimizer that references it stays valid. `kan_core.training.Trainer` notices the new
        shape and resets that parameter's optimizer state.

        Parameters
        ----------
        grid : Tensor, shape (in_features, G' + 1)
            Non-decreasing rows with a positive width; any G' >= 1, uniform or not.
        coef : Tensor, shape (in_features, out_features, G' + k)

        Raises
        ------
        ValueError
            If a shape does not match or the grid is invalid.
        """
        grid = validate_knots(grid)
        if grid.shape[0] != self.in_features:
            raise ValueError(
                f"grid must have {self.in_features} rows (one per input), got {grid.shape[0]}"
            )
        if grid.shape[1] < 2:
            raise ValueError(f"grid must have at least 2 points per row, got {grid.shape[1]}")
        expected = (self.in_features, self.out_features, grid.shape[1] - 1 + self.degree)
        if tuple(coef.shape) != expected:
            raise ValueError(f"coef must have shape {expected}, got {tuple(coef.shape)}")

        dtype, device = self.coef.dtype, self.coef.device
        knots = extend_grid(grid.to(torch.float64), self.degree)
        with torch.no_grad():
            self.grid = grid.to(dtype=dtype, device=device).clone()
            self.knots = knots.to(dtype=dtype, device=device)
            self.coef.data = coef.detach().to(dtype=dtype, device=device).clone()
        self._knot_cache_key = None

    def _knot_cache(self) -> tuple[torch.Tensor, torch.Tensor, PowerTable]:
        # Everything derived from the knots is rebuilt only when the key changes: when the
        # buffer is replaced (set_grid, .to()) or written in place (load_state_dict).
        if not _is_current(self._knot_cache_key, self.knots):
            knots = self.knots.contiguous()
            self._cache = (knots, pad_knots(knots, self.degree), power_table(knots, self.degree))
            self._end_interval = _end_interval(knots, self.degree)
            self._knot_cache_key = (self.knots, self.knots._version)
        return self._cache

    def local_basis(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate the k + 1 non-zero bases of each input (see `kan_core.local_basis`).

        Parameters
        ----------
        x : Tensor, shape (batch, in_features)

        Returns
        -------
        values : Tensor, shape (batch, in_features, k + 1)
        start : Tensor of int64, shape (batch, in_features)
        """
        knots, padded, _ = self._knot_cache()
        return local_basis_padded(x, knots, padded, self._end_interval, self.degree)

    def dense_basis(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate all G + k bases of each input, shape (batch, in_features, G + k)."""
        values, start = self.local_basis(x)
        return self._scatter_padded(values, start)[:, :, self.degree : self.degree + self.n_basis]

    def _scatter_padded(self, values: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        # Window entries sit at start + s in [-k, n + k - 1]. A k-column margin on both sides
        # takes the out-of-range ones (whose values are zero) without clamping.
        k = self.degree
        batch = values.shape[0]
        columns = start.unsqueeze(-1) + (k + torch.arange(k + 1, device=start.device))
        padded = values.new_zeros(batch, self.in_features, self.n_basis + 2 * k)
        return padded.scatter(2, columns, values)

    # ----------------------------------------------------------------- forward

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 2:
            raise ValueError(f"x must have shape (batch, {self.in_features}), got {tuple(x.shape)}")
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features, got {x.shape[1]}"
            )

    def _base(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.base_activation == "silu":
            return F.silu(x)
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Parameters
        ----------
        x : Tensor, shape (batch, in_features)

        Returns
        -------
        Tensor, shape (batch, out_features)
        """
        self._check_input(x)
        out = kan_layer_sum(x, *self.fused_arguments())

        edges = self._active_symbolic_edges()
        if edges:
            out = out.clone()
            for i, j in edges:
                out[:, j] += self._symbolic_edge(x[:, i], i, j)
        return out

    def fused_arguments(self) -> tuple:
        """Return (table, coef, scale_spline, scale_base, mask) for `kan_core.fused`.

        scale_base is None without a base activation, and mask is None while every edge's
        spline path is on.
        """
        _, _, table = self._knot_cache()
        scale_base = self.scale_base if self.base_activation is not None else None
        if not _is_current(self._mask_cache_key, self.spline_mask):
            self._mask_all_ones = bool((self.spline_mask == 1).all())
            self._mask_cache_key = (self.spline_mask, self.spline_mask._version)
        mask = None if self._mask_all_ones else self.spline_mask
        return table, self.coef, self.scale_spline, scale_base, mask

    def has_symbolic_edges(self) -> bool:
        """True when at least one edge has its symbolic path switched on."""
        return bool(self._active_symbolic_edges())

    def _spline_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # On its knot interval each edge's spline is a polynomial of degree k in u = x - t_j.
        # Its k + 1 power coefficients are the coefficient window c_{j-k..j} times the basis
        # polynomials of the interval, so one gather of (k + 1) x out numbers per point and
        # input replaces the de Boor recursion. Measured against the local recursion followed by a
        # dense (batch, in, G + k) matmul in bench/bench_training.py.
        knots, _, table = self._knot_cache()
        k = self.degree
        rows, u = locate(x.t().contiguous(), table)  # (in, batch)
        powers = torch.pow(u.clamp(0.0, table.max_width).unsqueeze(-1), table.exponents)

        local = self._local_coefficients(table)
        n_rows = local.shape[1] // (k + 1)
        flat = local.view(self.in_features * n_rows, (k + 1) * self.out_features)
        window = F.embedding(rows + table.row_offsets, flat)
        return powers, window.view(self.in_features, x.shape[0], k + 1, self.out_features)

    def _local_coefficients(self, table: PowerTable) -> torch.Tensor:
        # Power coefficients of every edge on every table row, (in, rows * (k + 1), out).
        weight = self.coef * (self.scale_spline * self.spline_mask).unsqueeze(-1)
        return torch.bmm(table.coef_map, weight.transpose(1, 2))

    def _active_symbolic_edges(self) -> list[tuple[int, int]]:
        # Recomputed only when the mask is replaced or written to, so the common case with no
        # symbolic edge costs one tuple comparison per forward pass.
        if not _is_current(self._symbolic_cache_key, self.symbolic_mask):
            self._symbolic_edges = [tuple(ij) for ij in self.symbolic_mask.nonzero().tolist()]
            self._symbolic_cache_key = (self.symbolic_mask, self.symbolic_mask._version)
        return self._symbolic_edges

    def _symbolic_edge(self, x_i: torch.Tensor, i: int, j: int) -> torch.Tensor:
        from kan_core.symbolic_library import LIBRARY  # imported on first use of a formula

        name = self.symbolic_names[i][j]
        if name is None:
            raise ValueError(
                f"symbolic edge ({i}, {j}) is switched on but has no function; "
                "set symbolic_names[i][j] to a LIBRARY key"
            )
        if name not in LIBRARY:
            raise ValueError(f"symbolic edge ({i}, {j}) names {name!r}, which is not in LIBRARY")
        a, b, c, d = self.symbolic_params[i, j]
        value = a * LIBRARY[name].torch_fn(b * x_i + c) + d
        return self.symbolic_mask[i, j] * value

    def edge_components(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split every edge activation into its base, spline and symbolic parts.

        Parameters
        ----------
        x : Tensor, shape (batch, in_features)

        Returns
        -------
        dict of Tensor, each of shape (batch, in_features, out_features)
            ``base`` = spline_mask * scale_base * b(x), ``spline`` = spline_mask *
            scale_spline * spline(x), ``symbolic`` = symbolic_mask * (a f(b x + c) + d).
            Their sum is `edge_outputs`.
        """
        self._check_input(x)
        powers, window = self._spline_terms(x)
        spline = torch.einsum("ibp,ibpo->bio", powers, window)
        base = self._base(x)
        if base is None:
            base = torch.zeros_like(spline)
        else:
            base = base.unsqueeze(-1) * (self.scale_base * self.spline_mask)
        symbolic = torch.zeros_like(spline)
        for i, j in self._active_symbolic_edges():
            symbolic[:, i, j] = self._symbolic_edge(x[:, i], i, j)
        return {"base": base, "spline": spline, "symbolic": symbolic}

    def edge_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate phi_ij(x_i) for every edge, shape (batch, in_features, out_features).

        Summing over the input dimension gives `forward`.
        """
        parts = self.edge_components(x)
        return parts["base"] + parts["spline"] + parts["symbolic"]

    def edge_curves(
        self, num_points: int = 200, margin: float = 0.0
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sample every edge activation across its input's grid range, for plotting.

        Parameters
        ----------
        num_points : int
            Points per input, at least 2.
        margin : float
            Extra width on each side as a fraction of the grid width, >= 0, to show what happens
            beyond the grid.

        Returns
        -------
        x : Tensor, shape (num_points, in_features)
            Evenly spaced over [grid[i, 0] - margin * width, grid[i, -1] + margin * width].
        parts : dict of Tensor, each of shape (num_points, in_features, out_features)
            ``total`` plus the ``base``, ``spline`` and ``symbolic`` parts of `edge_components`.
        """
        _check_positive_int("num_points", num_points)
        if num_points < 2:
            raise ValueError(f"num_points must be at least 2, got {num_points}")
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        with torch.no_grad():
            lower, upper = self.grid[:, 0], self.grid[:, -1]
            width = upper - lower
            fractions = torch.linspace(0.0, 1.0, num_points, dtype=self.grid.dtype)
            x = (lower - margin * width) + fractions[:, None] * (width * (1 + 2 * margin))
            parts = self.edge_components(x)
            parts["total"] = parts["base"] + parts["spline"] + parts["symbolic"]
        return x, parts
