"""Conversion of an allow-listed formula syntax tree to sympy objects and torch closures.

`kan_core.expressions` checks the raw text and parses it. This module walks the resulting
`ast` tree once: every node type, name and call target must be on an allow-list, and each
accepted node becomes a closure over torch operations and a builder of its sympy object.
Nothing here evaluates text.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sympy
import torch

from kan_core.limits import Limits

__all__ = ["CONSTANTS", "FUNCTIONS", "Built", "ExpressionError", "TreeBuilder", "check_tree_size"]


class ExpressionError(ValueError):
    """Invalid formula text; `column` is the 1-based position of the problem, or None."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class _Function:
    arity: int
    sympy_fn: Callable[..., sympy.Expr]
    torch_fn: Callable[..., torch.Tensor]


def _sympy_log10(x: sympy.Expr) -> sympy.Expr:
    return sympy.log(x, 10)


def _sympy_log2(x: sympy.Expr) -> sympy.Expr:
    return sympy.log(x, 2)


_SIN = _Function(1, sympy.sin, torch.sin)
_ARCTAN = _Function(1, sympy.atan, torch.atan)
_ARCSIN = _Function(1, sympy.asin, torch.asin)
_ARCCOS = _Function(1, sympy.acos, torch.acos)
_ARCSINH = _Function(1, sympy.asinh, torch.asinh)
_ARCCOSH = _Function(1, sympy.acosh, torch.acosh)
_ARCTANH = _Function(1, sympy.atanh, torch.atanh)
_LOG = _Function(1, sympy.log, torch.log)
_SIGN = _Function(1, sympy.sign, torch.sign)

FUNCTIONS: dict[str, _Function] = {
    "sin": _SIN,
    "cos": _Function(1, sympy.cos, torch.cos),
    "tan": _Function(1, sympy.tan, torch.tan),
    "exp": _Function(1, sympy.exp, torch.exp),
    "log": _LOG,
    "ln": _LOG,
    "log10": _Function(1, _sympy_log10, torch.log10),
    "log2": _Function(1, _sympy_log2, torch.log2),
    "sqrt": _Function(1, sympy.sqrt, torch.sqrt),
    "abs": _Function(1, sympy.Abs, torch.abs),
    "sinh": _Function(1, sympy.sinh, torch.sinh),
    "cosh": _Function(1, sympy.cosh, torch.cosh),
    "tanh": _Function(1, sympy.tanh, torch.tanh),
    "arctan": _ARCTAN,
    "atan": _ARCTAN,
    "arcsin": _ARCSIN,
    "asin": _ARCSIN,
    "arccos": _ARCCOS,
    "acos": _ARCCOS,
    "arcsinh": _ARCSINH,
    "asinh": _ARCSINH,
    "arccosh": _ARCCOSH,
    "acosh": _ARCCOSH,
    "arctanh": _ARCTANH,
    "atanh": _ARCTANH,
    "sign": _SIGN,
    "sgn": _SIGN,
    "min": _Function(2, sympy.Min, torch.minimum),
    "max": _Function(2, sympy.Max, torch.maximum),
}
"""Allow-listed functions by name, aliases included. ``log`` is the natural logarithm."""

CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
"""Named constants a formula may use."""

_DECIMAL_LITERAL = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FUNCTION_LIST = ", ".join(sorted(FUNCTIONS))
_REJECTED_NODES = {
    ast.Attribute: "Attribute access with '.' is not supported",
    ast.Subscript: "Indexing with [ ] is not supported",
    ast.Compare: "Comparisons are not supported",
    ast.BoolOp: "'and' and 'or' are not supported",
    ast.IfExp: "Conditional expressions (a if c else b) are not supported",
    ast.Lambda: "lambda is not supported",
    ast.Tuple: "Tuples are not supported; only min and max take two arguments, as in max(x, y)",
    ast.Starred: "Starred arguments (*args) are not supported",
    ast.NamedExpr: "Assignments with := are not supported",
    ast.Await: "'await' is not supported",
    ast.Yield: "'yield' is not supported",
    ast.YieldFrom: "'yield' is not supported",
    ast.GeneratorExp: "Generator expressions are not supported",
    ast.JoinedStr: "Text strings are not supported",
}


@dataclass(frozen=True)
class Built:
    """One checked subtree: a sympy builder, a torch closure and its value when constant.

    `to_sympy` builds the sympy form only when called. The parser calls it after the whole
    tree has passed every check, so a node that fails a check is rejected before any sympy work.
    """

    to_sympy: Callable[[], sympy.Expr]
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    constant: float | None


def check_tree_size(root: ast.AST, limits: Limits, original_column: Callable[[int], int]) -> None:
    """Raise ExpressionError if the tree has too many nodes or is nested too deeply.

    The walk is iterative, so the check itself cannot exhaust the Python stack, and it runs
    before the recursive `TreeBuilder`. Only expression nodes count, not operator or context
    nodes. `original_column` maps a parsed offset to a typed column.
    """
    count = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        stack.extend((child, depth + 1) for child in children)
        count += 1
        if count > limits.max_formula_nodes:
            raise ExpressionError(
                f"The formula has more than {limits.max_formula_nodes} parts. Simplify it."
            )
        if depth > limits.max_formula_depth:
            column = original_column(node.col_offset)
            raise ExpressionError(
                f"The formula is nested more than {limits.max_formula_depth} levels deep "
                f"(at column {column}). Simplify it.",
                column,
            )


def _full(value: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def constant(inputs: torch.Tensor) -> torch.Tensor:
        return torch.full((inputs.shape[0],), value, dtype=inputs.dtype, device=inputs.device)

    return constant


def _column(index: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def select(inputs: torch.Tensor) -> torch.Tensor:
        # A copy, so the values of the formula "x" never share memory with the inputs.
        return inputs[:, index].clone()

    return select


def _apply(
    op: Callable[..., torch.Tensor], *args: Callable[[torch.Tensor], torch.Tensor]
) -> Callable[[torch.Tensor], torch.Tensor]:
    def evaluate(inputs: torch.Tensor) -> torch.Tensor:
        return op(*(arg(inputs) for arg in args))

    return evaluate


_BINARY_OPS = {
    ast.Add: (lambda a, b: a + b, torch.add),
    ast.Sub: (lambda a, b: a - b, torch.sub),
    ast.Mult: (lambda a, b: a * b, torch.mul),
    ast.Div: (lambda a, b: a / b, torch.div),
    ast.Pow: (lambda a, b: a**b, torch.pow),
}


class TreeBuilder:
    """Check each node of a size-checked syntax tree and build its torch and sympy forms."""

    def __init__(
        self, text: str, source: str, origin: list[int], names: tuple[str, ...], limits: Limits
    ) -> None:
        self.text = text
        self.source = source
        self.origin = origin
        self.symbols = {name: sympy.Symbol(name, real=True) for name in names}
        self.indices = {name: index for index, name in enumerate(names)}
        self.limits = limits

    def segment(self, node: ast.AST) -> str:
        """Return the typed text of `node`."""
        return self.text[self.origin[node.col_offset] : self.origin[node.end_col_offset - 1] + 1]

    def error(self, node: ast.AST, message: str) -> ExpressionError:
        column = self.origin[node.col_offset] + 1
        return ExpressionError(message.replace("{at}", f"at column {column}"), column)

    def build(self, node: ast.AST) -> Built:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        default = f"'{type(node).__name__}' is not supported in formulas"
        reason = _REJECTED_NODES.get(type(node), default)
        raise self.error(
            node,
            f"{reason} ({{at}}). Use only numbers, variables, + - * / ^ and functions "
            f"such as sin(x).",
        )

    def constant(self, node: ast.AST, to_sympy: Callable[[], sympy.Expr], value: float) -> Built:
        self.check_constant(node, value)
        return Built(to_sympy, _full(value), value)

    def check_constant(self, node: ast.AST, value: float) -> None:
        if math.isnan(value):
            raise self.error(
                node,
                f"The constant part '{self.segment(node)}' {{at}} is not a real number. "
                f"Check for a log or square root of a negative number.",
            )
        if math.isinf(value):
            raise self.error(
                node,
                f"The constant part '{self.segment(node)}' {{at}} is infinite or too large for "
                f"float64. Check for a division by zero or use smaller numbers.",
            )

    def number(self, node: ast.Constant) -> Built:
        value = node.value
        if isinstance(value, complex):
            raise self.error(node, "Complex numbers such as 1j are not supported ({at}).")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(
                node, "Only numbers, names and operators may appear in a formula ({at})."
            )
        literal = self.source[node.col_offset : node.end_col_offset]
        if not _DECIMAL_LITERAL.fullmatch(literal):
            raise self.error(
                node, f"Write the number '{literal}' {{at}} in decimal, such as 16 or 0.5."
            )
        digits = sum(char.isdigit() for char in literal)
        if digits > self.limits.max_literal_digits:
            raise self.error(
                node,
                f"The number {{at}} has {digits} digits; the limit is "
                f"{self.limits.max_literal_digits}. Round it.",
            )
        if not math.isfinite(value) or abs(value) > self.limits.max_literal:
            raise self.error(
                node,
                f"The number '{literal}' {{at}} is too large; numbers may be at most "
                f"{self.limits.max_literal:g} in magnitude.",
            )
        sympy_type = sympy.Integer if isinstance(value, int) else sympy.Float
        return self.constant(node, partial(sympy_type, value), float(value))

    def name(self, node: ast.Name) -> Built:
        if node.id in self.symbols:
            symbol = self.symbols[node.id]
            return Built(lambda: symbol, _column(self.indices[node.id]), None)
        if node.id in CONSTANTS:
            sympy_value = CONSTANTS[node.id]
            return self.constant(node, lambda: sympy_value, float(sympy_value))
        if node.id in FUNCTIONS:
            raise self.error(
                node,
                f"'{node.id}' {{at}} is a function; call it with parentheses, as in {node.id}(x).",
            )
        known = ", ".join(self.symbols)
        raise self.error(
            node,
            f"Unknown name '{node.id}' {{at}}. Use the variables {known} and the constants "
            f"pi and e.",
        )

    def unary(self, node: ast.UnaryOp) -> Built:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if not isinstance(node.op, ast.USub):
            raise self.error(node, "Only unary + and - are supported ({at}).")
        def to_sympy() -> sympy.Expr:
            return -operand.to_sympy()

        if operand.constant is not None:
            return self.constant(node, to_sympy, -operand.constant)
        return Built(to_sympy, _apply(torch.neg, operand.torch_fn), None)

    def binary(self, node: ast.BinOp) -> Built:
        if type(node.op) not in _BINARY_OPS:
            raise self.error(node, "Only the operators + - * / and ^ (or **) are supported ({at}).")
        left = self.build(node.left)
        right = self.build(node.right)
        sympy_op, torch_op = _BINARY_OPS[type(node.op)]
        if isinstance(node.op, ast.Div) and right.constant == 0.0:
            raise self.error(node.right, "Division by zero {at}. Divide by a nonzero value.")
        if isinstance(node.op, ast.Pow) and right.constant is not None:
            if abs(right.constant) > self.limits.max_exponent:
                raise self.error(
                    node,
                    f"{self.segment(node)} {{at}}: the exponent {right.constant:g} is too large; "
                    f"constant exponents may be at most {self.limits.max_exponent:g} in magnitude.",
                )
        return self.combine(node, torch_op, sympy_op, left, right)

    def call(self, node: ast.Call) -> Built:
        if not isinstance(node.func, ast.Name):
            raise self.error(node, "Only named functions such as sin(x) can be called ({at}).")
        name = node.func.id
        if name not in FUNCTIONS:
            if name in self.symbols or name in CONSTANTS:
                raise self.error(
                    node,
                    f"'{name}' {{at}} is not a function. Write multiplication with *, "
                    f"as in {name}*(x + 1).",
                )
            raise self.error(
                node, f"Unknown function '{name}' {{at}}. Allowed functions: {_FUNCTION_LIST}."
            )
        if node.keywords:
            raise self.error(
                node, f"{name}() {{at}} takes positional arguments only, as in {name}(x)."
            )
        function = FUNCTIONS[name]
        if len(node.args) != function.arity:
            expected = "1 argument"
            if function.arity > 1:
                expected = f"exactly {function.arity} arguments"
            raise self.error(node, f"{name}() {{at}} takes {expected}; received {len(node.args)}.")
        args = [self.build(arg) for arg in node.args]
        return self.combine(node, function.torch_fn, function.sympy_fn, *args)

    def combine(
        self,
        node: ast.AST,
        torch_op: Callable[..., torch.Tensor],
        sympy_op: Callable[..., sympy.Expr],
        *args: Built,
    ) -> Built:
        def to_sympy() -> sympy.Expr:
            return sympy_op(*(arg.to_sympy() for arg in args))

        # Fold a part without variables to one float64 value and check it, so exact sympy
        # arithmetic later only runs on numbers that fit in float64.
        if all(arg.constant is not None for arg in args):
            values = [torch.tensor(arg.constant, dtype=torch.float64) for arg in args]
            return self.constant(node, to_sympy, float(torch_op(*values)))
        return Built(to_sympy, _apply(torch_op, *(arg.torch_fn for arg in args)), None)
