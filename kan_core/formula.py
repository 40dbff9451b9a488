"""Write a fully symbolic KAN as a sympy formula and check it against data.

Every node of a KAN sums its incoming edges, so once every active edge is
symbolic, ``a * f(b * x + c) + d`` per edge composes into one closed form.
Redundant parameters (a shift ``d`` on two edges into the same node, a factor
``exp(c)`` next to ``a``) make the raw formula hard to read, so
:func:`formula` expands it, rounds every number and recombines powers of
``exp``.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import sympy
import torch
from torch import Tensor

from kan_core.model import KAN
from kan_core.symbolic_library import LIBRARY

__all__ = ["spline_edges", "formula", "formula_latex", "formula_rmse"]

_MAX_LISTED_EDGES = 6

Variable = Union[str, sympy.Symbol]


def spline_edges(model: KAN) -> list[tuple[int, int, int]]:
    """List the edges ``(layer, i, j)`` that still compute a spline."""
    edges = []
    for index, layer in enumerate(model.layers):
        for i, j in (layer.spline_mask != 0).nonzero().tolist():
            edges.append((index, i, j))
    return edges


def _describe(edges: list[tuple[int, int, int]]) -> str:
    shown = [str(edge) for edge in edges[:_MAX_LISTED_EDGES]]
    if len(edges) > _MAX_LISTED_EDGES:
        shown.append(f"{len(edges) - _MAX_LISTED_EDGES} more")
    if len(shown) == 1:
        return f"edge {shown[0]} is still a spline; snap it first"
    listing = ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"edges {listing} are still splines; snap them first"


def _symbols(model: KAN, variables: Sequence[Variable]) -> list[sympy.Symbol]:
    if isinstance(variables, str):
        variables = [variables]
    symbols = [sympy.Symbol(v) if isinstance(v, str) else v for v in variables]
    if len(symbols) != model.widths[0]:
        raise ValueError(
            f"variables must name the {model.widths[0]} inputs, got {len(symbols)}: {list(variables)}"
        )
    return symbols


def _round_numbers(expression: sympy.Expr, digits: int) -> sympy.Expr:
    # Numbers that round to an integer become sympy Integers, so 1.0 * x
    # prints as x and a rounded 0 removes its term.
    replacements = {}
    for number in expression.atoms(sympy.Float):
        value = round(float(number), digits)
        replacements[number] = sympy.Integer(int(value)) if value == int(value) else sympy.Float(value)
    return expression.xreplace(replacements)


def _tidy(expression: sympy.Expr, digits: int) -> sympy.Expr:
    # expand distributes factors and turns exp(u + k) into exp(u) * exp(k), so
    # constants spread over several edges merge into single numbers before
    # rounding. powsimp then joins exp(u) * exp(v) back into exp(u + v).
    expression = sympy.expand(expression)
    expression = _round_numbers(expression, digits)
    return sympy.powsimp(expression)


def formula(
    model: KAN,
    variables: Sequence[Variable] = ("x", "y"),
    digits: int | None = 4,
) -> Union[sympy.Expr, tuple[sympy.Expr, ...]]:
    """Compose the symbolic edges of ``model`` into a sympy formula.

    Parameters
    ----------
    model : KAN
        Every edge must be symbolic or pruned.
    variables : sequence of str or sympy.Symbol
        One name per network input.
    digits : int or None
        Decimal places kept in every number after expansion; None keeps the
        raw, unexpanded formula with full-precision numbers.

    Returns
    -------
    sympy.Expr, or tuple of sympy.Expr for several outputs

    Raises
    ------
    ValueError
        When edges are still splines (the message lists them as
        ``(layer, i, j)``), or the number of variables does not match.

    Notes
    -----
    NOTE: rounding drops any term whose coefficient rounds to 0, even when it
    multiplies a large function value; check the result with
    :func:`formula_rmse`.
    """
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a KAN, got {type(model).__name__}")
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < 0):
        raise ValueError(f"digits must be a non-negative int or None, got {digits!r}")
    symbols = _symbols(model, variables)
    remaining = spline_edges(model)
    if remaining:
        raise ValueError(_describe(remaining))

    nodes: list[sympy.Expr] = list(symbols)
    for layer in model.layers:
        outputs: list[sympy.Expr] = [sympy.Integer(0)] * layer.out_features
        for i, j in (layer.symbolic_mask != 0).nonzero().tolist():
            a, b, c, d = (sympy.Float(value) for value in layer.symbolic_params[i, j].tolist())
            term = a * LIBRARY[layer.symbolic_names[i][j]].sympy_fn(b * nodes[i] + c) + d
            mask = float(layer.symbolic_mask[i, j])
            outputs[j] = outputs[j] + (term if mask == 1.0 else sympy.Float(mask) * term)
        nodes = outputs

    if digits is not None:
        nodes = [_tidy(node, digits) for node in nodes]
    return nodes[0] if len(nodes) == 1 else tuple(nodes)


def formula_latex(
    model: KAN,
    variables: Sequence[Variable] = ("x", "y"),
    digits: int | None = 4,
) -> Union[str, tuple[str, ...]]:
    """Return :func:`formula` as LaTeX, one string per output."""
    result = formula(model, variables, digits)
    if isinstance(result, tuple):
        return tuple(sympy.latex(expression) for expression in result)
    return sympy.latex(result)


def formula_rmse(
    expression: sympy.Expr,
    variables: Sequence[Variable],
    inputs: Tensor,
    labels: Tensor,
) -> float:
    """Evaluate ``expression`` on ``inputs`` and return its RMSE against ``labels``.

    Parameters
    ----------
    expression : sympy.Expr
        For example from :func:`formula`; evaluated in float64 with numpy.
    variables : sequence of str or sympy.Symbol
        The symbol of each input column, in order.
    inputs : Tensor, shape (batch, n_variables)
    labels : Tensor, shape (batch,) or (batch, 1)

    Returns
    -------
    float
        Root-mean-square error; NaN or inf when the expression is undefined
        at some input.
    """
    if isinstance(variables, str):
        variables = [variables]
    symbols = [sympy.Symbol(v) if isinstance(v, str) else v for v in variables]
    if inputs.ndim != 2 or inputs.shape[1] != len(symbols):
        raise ValueError(f"inputs must have shape (batch, {len(symbols)}), got {tuple(inputs.shape)}")
    truth = labels.detach().to(torch.float64).reshape(-1).numpy()
    if truth.shape[0] != inputs.shape[0]:
        raise ValueError(f"labels must have {inputs.shape[0]} values, got {truth.shape[0]}")

    columns = inputs.detach().to(torch.float64).numpy().T
    evaluate = sympy.lambdify(symbols, expression, modules="numpy")
    with np.errstate(all="ignore"):
        prediction = np.broadcast_to(np.asarray(evaluate(*columns), dtype=np.float64), truth.shape)
        return float(np.sqrt(np.mean((prediction - truth) ** 2)))
