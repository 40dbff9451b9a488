"""Forward and hand-written backward passes of KAN layers, for fast training.

In the small networks the app trains ([1, 1, 1] with 800 points, say), each tensor operation
costs a few microseconds of fixed overhead and its arithmetic almost nothing. The time of a
training step therefore follows the number of operations. Left to autograd, the power-table evaluation of
`kan_core.local_basis` records more than a dozen nodes per layer. Here one
`torch.autograd.Function` covers a whole stack of layers, and its backward pass computes only
the gradients that are needed, with about twenty operations per layer. `kan_core.layer.KANLayer`,
`kan_core.model.KAN` and `kan_core.training.Trainer` call these functions. The tests compare
them with the reference basis and run gradcheck.

Per layer, with m knots, k + 1 = ``terms`` powers and R = m + 1 table rows:

    local[i, r, p, o] = sum_n coef_map[i, r p, n] coef[i, o, n] scale_spline[i, o] mask[i, o]
    out[b, o] = sum_i sum_p u_ib^p local[i, row_ib, p, o]
                + sum_i silu(x_bi) scale_base[i, o] mask[i, o]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from kan_core.local_basis import PowerTable, locate

__all__ = [
    "LayerArguments",
    "FirstLayerCache",
    "kan_layer_sum",
    "kan_stack",
    "mse_with_gradients",
]

DENSE_BASIS_MAX_ELEMENTS = 1 << 20
"""Largest batch * in_features * n_basis for which `FirstLayerCache` stores the dense basis of
the first layer (4 MiB in float32, 8 MiB in float64). Larger inputs take the row-gather path
on every step."""

LayerArguments = tuple[
    PowerTable, torch.Tensor, torch.Tensor, "torch.Tensor | None", "torch.Tensor | None"
]
"""(table, coef, scale_spline, scale_base, mask) of one layer, as `KANLayer.fused_arguments`
returns them."""


def kan_layer_sum(
    x: torch.Tensor,
    table: PowerTable,
    coef: torch.Tensor,
    scale_spline: torch.Tensor,
    scale_base: torch.Tensor | None,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    """Evaluate the spline and SiLU base paths of one KAN layer, summed over the inputs.

    Parameters
    ----------
    x : Tensor, shape (batch, in_features)
    table : PowerTable
        ``power_table(knots, k)`` of the layer's knots, in the dtype of x.
    coef : Tensor, shape (in_features, out_features, n)
    scale_spline : Tensor, shape (in_features, out_features)
    scale_base : Tensor, shape (in_features, out_features), or None
        Factor of each edge's SiLU term. None leaves the base out.
    mask : Tensor, shape (in_features, out_features), or None
        Multiplies both paths of each edge (the layer's spline_mask). It gets no gradient.
        None means all ones and saves four operations per layer and step.

    Returns
    -------
    Tensor, shape (batch, out_features)
        out[b, o] = sum_i mask[i, o] * (scale_spline[i, o] * sum_s coef[i, o, s] N_s(x[b, i])
        + scale_base[i, o] * silu(x[b, i])).

    Notes
    -----
    Differentiable once (no double backward) in x, coef, scale_spline and scale_base.
    """
    return kan_stack(x, [(table, coef, scale_spline, scale_base, mask)])


def kan_stack(
    x: torch.Tensor,
    layers: Sequence[LayerArguments],
) -> torch.Tensor:
    """Apply several layers in turn, each as in `kan_layer_sum`.

    Parameters
    ----------
    x : Tensor, shape (batch, n_0)
    layers : sequence of (table, coef, scale_spline, scale_base, mask)
        One tuple per layer, with the shapes of `kan_layer_sum`.

    Returns
    -------
    Tensor, shape (batch, n_L)
    """
    tensors = []
    tables = []
    for table, coef, scale_spline, scale_base, mask in layers:
        tables.append(table)
        tensors.extend((coef, scale_spline, scale_base, mask))
    return _KANStack.apply(x, tables, *tensors)


class FirstLayerCache:
    """Dense B-spline basis and SiLU of the first layer's inputs, kept across training steps.

    With full-batch training the first layer receives the same inputs and knots on every step,
    so its bases N_n(x[b, i]) are constants. Stored as an (in_features, batch, n) tensor, they turn
    that layer's forward pass into one bmm with the weighted coefficients and its coefficient
    gradient into one bmm with grad_out, in place of about twenty row-gather operations.

    The single entry is keyed on the identity and version counter of x and on the identity of
    the `PowerTable` (`KANLayer` builds a new one whenever its knots change). The cache holds a
    reference to x, so its id cannot be reused while the entry lives.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: tuple | None = None

    def lookup(self, x: torch.Tensor, table: PowerTable) -> tuple | None:
        """Return (basis, silu) for x and table, computing them on a miss.

        Returns None when the dense basis would exceed `DENSE_BASIS_MAX_ELEMENTS`.
        """
        key = self._key
        if key is not None and key[0] is x and key[1] == x._version and key[2] is table:
            return self._value
        batch, in_features = x.shape
        n_basis = table.coef_map.shape[-1]
        if batch * in_features * n_basis > DENSE_BASIS_MAX_ELEMENTS:
            value = None
        else:
            with torch.no_grad():
                value = (_dense_basis(x, table), F.silu(x))
        self._key = (x, x._version, table)
        self._value = value
        return value


def mse_with_gradients(
    x: torch.Tensor,
    y: torch.Tensor,
    layers: Sequence[LayerArguments],
    cache: FirstLayerCache | None = None,
) -> torch.Tensor:
    """Compute the MSE of a layer stack and add its gradients to the parameters' ``.grad``.

    Gives the same result as ``F.mse_loss(kan_stack(x, layers), y).backward()`` without
    building an autograd graph, which saves the engine's fixed cost on every training step.

    Parameters
    ----------
    x : Tensor, shape (batch, n_0)
    y : Tensor, shape (batch, n_L)
    layers : as in `kan_stack`
        Gradients go to every tensor in a tuple that requires grad (not to the mask).
    cache : FirstLayerCache or None
        Reuses the first layer's basis when x and its table are the ones of the last call.

    Returns
    -------
    Tensor, scalar
        The mean squared error, detached.
    """
    with torch.no_grad():
        states = []
        hidden = x
        constants = None if cache is None else cache.lookup(x, layers[0][0])
        for index, (table, coef, scale_spline, scale_base, mask) in enumerate(layers):
            if index == 0 and constants is not None:
                hidden, state = _dense_forward(constants, coef, scale_spline, scale_base, mask)
            else:
                hidden, state = _layer_forward(hidden, table, coef, scale_spline, scale_base, mask)
            states.append(state)
        loss = F.mse_loss(hidden, y)
        grad_out = (hidden - y) * (2.0 / hidden.numel())
        for index in range(len(layers) - 1, -1, -1):
            _, coef, scale_spline, scale_base, _ = layers[index]
            trainable = (coef, scale_spline, scale_base)
            wants = (index > 0, *(t is not None and t.requires_grad for t in trainable))
            if index == 0 and constants is not None:
                grad_out, grads = None, _dense_backward(states[0], grad_out, wants[1:])
            else:
                grad_out, grads = _layer_backward(states[index], grad_out, wants)
            for tensor, grad in zip(trainable, grads):
                if grad is None:
                    continue
                if tensor.grad is None:
                    tensor.grad = grad
                else:
                    tensor.grad += grad
    return loss


class _KANStack(torch.autograd.Function):
    # The saved state lives on ctx as plain attributes rather than through save_for_backward.
    # That skips the version checks, which cost more than the layer arithmetic here. The
    # trainer never writes parameters in place between a forward pass and its backward pass.

    @staticmethod
    def forward(ctx, x, tables, *tensors):
        states = []
        for index, table in enumerate(tables):
            coef, scale_spline, scale_base, mask = tensors[4 * index : 4 * index + 4]
            x, state = _layer_forward(x, table, coef, scale_spline, scale_base, mask)
            states.append(state)
        ctx.states = states
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        needs = ctx.needs_input_grad
        grads: list[torch.Tensor | None] = [None] * (len(needs) - 2)
        for index in range(len(ctx.states) - 1, -1, -1):
            offset = 4 * index
            # Later layers always pass a gradient back to their input, the first one only
            # when x requires it.
            wants = (index > 0 or needs[0], *needs[2 + offset : 5 + offset])
            grad_out, layer_grads = _layer_backward(ctx.states[index], grad_out, wants)
            grads[offset : offset + 3] = layer_grads
        return (grad_out, None, *grads)


def _layer_forward(x, table, coef, scale_spline, scale_base, mask):
    batch, in_features = x.shape
    out_features = coef.shape[1]
    n_rows, terms = table.poly.shape[1], table.poly.shape[-1]

    # Power coefficients of every edge on every table row: (in, rows * terms, out).
    spline_weight = scale_spline if mask is None else scale_spline * mask
    local = torch.bmm(table.coef_map, (coef * spline_weight.unsqueeze(-1)).transpose(1, 2))

    # Row and local coordinate of every point, then the block of coefficients of its row.
    x_by_feature = x.t().contiguous() if in_features > 1 else x.view(1, batch)
    rows, u_raw = locate(x_by_feature, table)
    u = u_raw.clamp(0.0, table.max_width)  # only the zero rows see u outside this range
    powers = _powers(u, terms)  # (in, batch, terms): 1, u, ..., u^k
    if in_features > 1:
        rows = rows + table.row_offsets
    index = rows.view(-1)
    window = local.view(in_features * n_rows, terms * out_features).index_select(0, index)
    window = window.view(in_features * batch, terms, out_features)
    out = torch.bmm(powers.view(-1, 1, terms), window).view(in_features, batch, out_features)
    out = out[0] if in_features == 1 else out.sum(0)

    base_weight = silu = None
    if scale_base is not None:
        base_weight = scale_base if mask is None else scale_base * mask
        silu = F.silu(x)
        out = torch.addmm(out, silu, base_weight)

    state = (x, coef, spline_weight, base_weight, silu, mask, table, index, powers, window)
    return out, state


def _dense_basis(x, table):
    # basis[i, b, n] = N_n(x[b, i]): the power row of each point times its row of coef_map.
    batch, in_features = x.shape
    n_rows, terms = table.poly.shape[1], table.poly.shape[-1]
    n_basis = table.coef_map.shape[-1]
    rows, u = locate(x.t().contiguous(), table)
    powers = _powers(u.clamp(0.0, table.max_width), terms)
    rows = rows + table.row_offsets
    by_row = table.coef_map.view(in_features * n_rows, terms, n_basis)
    window = by_row.index_select(0, rows.view(-1))
    basis = torch.bmm(powers.view(-1, 1, terms), window)
    return basis.view(in_features, batch, n_basis)


def _dense_forward(constants, coef, scale_spline, scale_base, mask):
    # The first layer on a FirstLayerCache hit: out = sum_i basis[i] @ (weighted coef[i])^T.
    basis, silu = constants
    spline_weight = scale_spline if mask is None else scale_spline * mask
    weighted = coef * spline_weight.unsqueeze(-1)
    out = torch.bmm(basis, weighted.transpose(1, 2))  # (in, batch, out)
    out = out[0] if basis.shape[0] == 1 else out.sum(0)

    base_weight = None
    if scale_base is not None:
        base_weight = scale_base if mask is None else scale_base * mask
        out = torch.addmm(out, silu, base_weight)
    return out, (basis, silu, coef, spline_weight, mask)


def _dense_backward(state, grad_out, wants):
    basis, silu, coef, spline_weight, mask = state
    wants_coef, wants_spline, wants_base = wants
    grad_weight = None
    if wants_coef or wants_spline:
        grad_by_out = grad_out.t().expand(basis.shape[0], -1, -1)  # (in, out, batch)
        grad_weight = torch.bmm(grad_by_out, basis)  # (in, out, n)
    return _parameter_gradients(grad_weight, grad_out, silu, coef, spline_weight, mask, wants)


def _parameter_gradients(grad_weight, grad_out, silu, coef, spline_weight, mask, wants):
    # Shared by both backward paths once they have the gradient of the weighted coefficients,
    # grad_weight (in, out, n), or None when neither coef nor scale_spline needs a gradient.
    wants_coef, wants_spline, wants_base = wants
    grad_coef = grad_spline = grad_base = None
    if grad_weight is not None:
        if wants_coef:
            grad_coef = grad_weight * spline_weight.unsqueeze(-1)
        if wants_spline:
            grad_spline = (grad_weight * coef).sum(-1)
            if mask is not None:
                grad_spline = grad_spline * mask

    if wants_base and silu is not None:
        grad_base = silu.t() @ grad_out
        if mask is not None:
            grad_base = grad_base * mask
    return grad_coef, grad_spline, grad_base


def _powers(u, terms):
    if terms == 1:  # degree 0; linalg.vander needs at least two columns
        return torch.ones_like(u).unsqueeze(-1)
    return torch.linalg.vander(u, N=terms)


def _layer_backward(state, grad_out, wants):
    x, coef, spline_weight, base_weight, silu, mask, table, index, powers, window = state
    wants_input, wants_coef, wants_spline, wants_base = wants
    batch, in_features = x.shape
    out_features = coef.shape[1]
    n_rows, terms = table.poly.shape[1], table.poly.shape[-1]
    grad_weight = grad_x = None

    if wants_coef or wants_spline:
        # d out[b, o] / d local[i, row, p, o] = u^p, summed over the points of each row.
        contributions = powers.unsqueeze(-1) * grad_out.view(1, batch, 1, out_features)
        grad_local = grad_out.new_zeros(in_features * n_rows, terms * out_features)
        grad_local.index_add_(0, index, contributions.view(in_features * batch, -1))
        grad_local = grad_local.view(in_features, n_rows * terms, out_features)
        grad_weight = torch.bmm(grad_local.transpose(1, 2), table.coef_map)  # (in, out, n)
    parameter_wants = (wants_coef, wants_spline, wants_base)
    parameter_grads = _parameter_gradients(
        grad_weight, grad_out, silu, coef, spline_weight, mask, parameter_wants
    )

    if wants_input:
        grad_x = _input_gradient(grad_out, powers, window, table, batch)
        if base_weight is not None:
            grad_x = grad_x + torch.ops.aten.silu_backward(grad_out @ base_weight.t(), x)
    return grad_x, parameter_grads


def _input_gradient(grad_out, powers, window, table, batch):
    # d/du sum_p a_p u^p = sum_p p a_p u^(p-1): the gathered coefficients times the
    # derivatives of the powers, 0, 1, 2u, ..., k u^(k-1). Points where u was clamped sit on
    # the zero rows outside the knots, whose coefficients are zero, so no mask is needed.
    in_features, _, terms = powers.shape
    out_features = window.shape[-1]
    if terms == 1:
        return grad_out.new_zeros(batch, in_features)
    slopes = F.pad(powers[:, :, :-1], (1, 0)) * table.exponents
    slope = torch.bmm(slopes.view(in_features * batch, 1, terms), window)
    slope = slope.view(in_features, batch, out_features)
    if out_features > 1:
        grad_u = (slope * grad_out).sum(-1)
    else:
        grad_u = slope.view(in_features, batch) * grad_out.view(1, batch)
    return grad_u.t()
