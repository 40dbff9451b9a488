"""Formulas typed by users, parsed with an allow-list and never evaluated as code.

`parse_expression` turns text such as ``"sin(pi*x) + y^2"`` into an `Expression` that
contains a sympy expression and a torch function. The text goes through four gates before
any math object is built:

1. Length, characters, keywords, numbers glued to names (``2x``) and parenthesis depth are
   checked on the raw text. Only printable ASCII is accepted, because Python normalizes
   identifiers with NFKC, so a fullwidth or Cyrillic look-alike of ``sin`` would otherwise
   reach the parser as a plain name.
2. ``^`` is rewritten to ``**`` and the text is parsed by ``ast.parse(mode="eval")``. Parsing
   builds a syntax tree and runs nothing.
3. The tree is checked against an allow-list: numbers, the named variables, the constants
   ``pi`` and ``e``, ``+ - * / **``, unary ``+ -`` and calls of the functions in `FUNCTIONS`.
4. One walk checks each node and builds a closure over torch operations. Only then is the
   sympy expression built node by node from the checked tree. No text is passed to sympify,
   eval or lambdify.

Numbers are limited in magnitude and digit count, and a constant exponent in magnitude, so
``9**9**9`` is rejected before it is computed. A non-constant exponent such as ``2**x`` is
allowed. It can overflow to inf at some inputs, and `sample_expression` drops those points.
Parts of a formula without variables are folded to one float64 value, which must be finite.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy
import torch

from kan_core.expression_tree import (
    CONSTANTS,
    FUNCTIONS,
    ExpressionError,
    TreeBuilder,
    check_tree_size,
)
from kan_core.limits import LIMITS, Limits
from kan_core.targets import MIN_FINITE_FRACTION, Target

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MIN_FINITE_FRACTION",
    "MIN_FINITE_POINTS",
    "Expression",
    "ExpressionError",
    "SampledExpression",
    "expression_target",
    "parse_expression",
    "sample_expression",
]

_ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + " +-*/^().,")
_CHARACTER_HINTS = {
    "[": "Use parentheses ( ) for grouping.",
    "]": "Use parentheses ( ) for grouping.",
    "=": "A formula is an expression such as sin(x) + 1, without comparisons or assignments.",
    "<": "Comparisons are not supported.",
    ">": "Comparisons are not supported.",
    "_": "Names contain only letters and digits.",
    "'": "Text strings are not supported.",
    '"': "Text strings are not supported.",
    ";": "Type a single expression.",
    "%": "The remainder operator % is not supported.",
}
_WORD = re.compile(r"(?<![0-9A-Za-z._])[A-Za-z][A-Za-z0-9]*")
# The atomic group keeps "1e5" whole, so only a letter after a complete number matches.
_NUMBER_THEN_NAME = re.compile(
    r"(?<![A-Za-z0-9.])(?>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[A-Za-z]\w*"
)
_CONDITION_KEYWORDS = frozenset({"if", "else", "and", "or", "not"})
_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}")


@dataclass(frozen=True)
class Expression:
    """A parsed formula of named inputs.

    Attributes
    ----------
    text : str
        The formula as typed.
    variables : tuple of str, length n_vars
        Input names. Column ``i`` of the inputs of `torch_fn` is ``variables[i]``.
    sympy_expr : sympy.Expr
        The formula over real sympy symbols named after `variables`.
    torch_fn : callable
        Maps inputs ``(batch, n_vars)`` to values ``(batch, 1)`` with the dtype and device of the
        inputs. Points outside the domain of a function give NaN or inf, as torch does.
    """

    text: str
    variables: tuple[str, ...]
    sympy_expr: sympy.Expr
    torch_fn: Callable[[torch.Tensor], torch.Tensor] = field(repr=False, compare=False)

    @property
    def latex(self) -> str:
        """LaTeX source of `sympy_expr`."""
        return sympy.latex(self.sympy_expr)

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """Evaluate at inputs ``(batch, n_vars)``; returns ``(batch, 1)``."""
        return self.torch_fn(inputs)


def parse_expression(
    text: str, variables: Sequence[str] = ("x",), limits: Limits = LIMITS
) -> Expression:
    """Parse formula text into an `Expression` without evaluating it as code.

    Parameters
    ----------
    text : str
        Formula such as ``"sin(pi*x) + 0.5*y^2"``. ``^`` means power, as ``**`` does.
    variables : sequence of str
        Names of the inputs, in input-column order.
    limits : Limits
        Caps on length, nesting, node count, numbers and exponents.

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        If the text breaks a rule; the message names the problem and its column.
    TypeError, ValueError
        If `text` is not a string or `variables` is invalid (programming errors).
    """
    names = _check_variables(variables, limits)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; received {type(text).__name__}.")
    _check_text(text, limits)

    # ^ means power, so it becomes ** before parsing. Each rewrite shifts later characters by
    # one, and `origin` maps every parsed offset back to the column the user typed.
    source_chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        replacement = "**" if char == "^" else char
        source_chars.extend(replacement)
        origin.extend([index] * len(replacement))
    origin.append(len(text))
    source = "".join(source_chars)

    def original_column(offset: int) -> int:
        return origin[min(max(offset, 0), len(origin) - 1)] + 1

    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        column = original_column(err.offset - 1) if err.offset else None
        where = f" at column {column}" if column else ""
        raise ExpressionError(
            f"The formula is not valid syntax{where}. Check for a missing operator, "
            f"argument or parenthesis.",
            column,
        ) from err
    except (RecursionError, MemoryError, ValueError) as err:
        raise ExpressionError("The formula is too complex to read. Simplify it.") from err

    check_tree_size(tree.body, limits, original_column)
    builder = TreeBuilder(text, source, origin, names, limits)
    built = builder.build(tree.body)
    try:
        sympy_expr = built.to_sympy()
    except (ArithmeticError, TypeError, ValueError, RecursionError) as err:
        # Every node passed the checks, so this is a sympy limit rather than a user error,
        # but the user still gets a sentence instead of a traceback.
        raise ExpressionError(
            f"The formula could not be converted to a symbolic expression ({type(err).__name__}). "
            f"Simplify it."
        ) from err
    if sympy_expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ExpressionError(
            "The formula is undefined for every input. Check for a division by zero."
        )
    return Expression(text, names, sympy_expr, _as_column_output(built.torch_fn, len(names)))


def _check_variables(variables: Sequence[str], limits: Limits) -> tuple[str, ...]:
    if isinstance(variables, str):
        raise TypeError(
            f"variables must be a sequence of names such as ('x', 'y'); received {variables!r}."
        )
    names = tuple(variables)
    if len(names) == 0:
        raise ValueError("variables must contain at least one name; received ().")
    if len(names) > limits.max_formula_variables:
        raise ValueError(
            f"variables may contain at most {limits.max_formula_variables} names; "
            f"received {names!r}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"variables must be distinct; received {names!r}.")
    for name in names:
        if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
            raise ValueError(
                f"A variable name must be a letter followed by letters or digits; "
                f"received {name!r}."
            )
        if name in FUNCTIONS or name in CONSTANTS or keyword.iskeyword(name):
            raise ValueError(
                f"A variable name must not be a function, constant or keyword; received {name!r}."
            )
    return names


def _check_text(text: str, limits: Limits) -> None:
    # Length first: every later step, ast.parse included, then works on a bounded input.
    if len(text) > limits.max_formula_length:
        raise ExpressionError(
            f"The formula has {len(text):,} characters; the limit is "
            f"{limits.max_formula_length}. Shorten it."
        )
    if text.strip() == "":
        raise ExpressionError("The formula is empty. Type an expression such as sin(x).")
    # Non-ASCII and control characters first: look-alike letters must never reach the parser.
    for index, char in enumerate(text):
        if char.isascii() and char.isprintable():
            continue
        char_label = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        raise ExpressionError(
            f"Character {char_label} at column {index + 1} is not allowed. Type formulas "
            f"with plain ASCII letters, digits and + - * / ^ ( ) , .",
            index + 1,
        )

    # Python reads "2x" as an invalid literal and "1if" as 1 followed by a keyword, with a
    # SyntaxWarning, so a number glued to a name gets its own message before parsing.
    glued = _NUMBER_THEN_NAME.search(text)
    if glued is not None:
        raise ExpressionError(
            f"'{glued.group()}' at column {glued.start() + 1} is a number followed by a name. "
            f"Write multiplication with *, as in 2*x, and numbers in decimal.",
            glued.start() + 1,
        )

    for match in _WORD.finditer(text):
        word = match.group()
        if not keyword.iskeyword(word):
            continue
        hint = ""
        if word in _CONDITION_KEYWORDS:
            hint = " For a piecewise formula, use min, max, abs or sign."
        raise ExpressionError(
            f"'{word}' at column {match.start() + 1} is a Python keyword, and keywords are not "
            f"supported in formulas.{hint}",
            match.start() + 1,
        )

    for index, char in enumerate(text):
        if char in _ALLOWED_CHARACTERS:
            continue
        hint = _CHARACTER_HINTS.get(char, "Use only numbers, names, + - * / ^ ( ) and commas.")
        raise ExpressionError(
            f"Character {char!r} at column {index + 1} is not allowed. {hint}", index + 1
        )

    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        if char == ")":
            depth -= 1
        if depth > limits.max_formula_depth:
            raise ExpressionError(
                f"Parentheses at column {index + 1} are nested more than "
                f"{limits.max_formula_depth} deep. Simplify the formula.",
                index + 1,
            )


def _as_column_output(
    fn: Callable[[torch.Tensor], torch.Tensor], n_vars: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    def evaluate(inputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"inputs must be a torch.Tensor; received {type(inputs).__name__}.")
        if inputs.dim() != 2:
            raise ValueError(
                f"inputs must have shape (batch, n_vars); received shape {tuple(inputs.shape)}."
            )
        if not inputs.is_floating_point():
            raise TypeError(
                f"inputs must be a floating-point tensor; received dtype {inputs.dtype}."
            )
        if inputs.shape[1] != n_vars:
            raise ValueError(
                f"inputs must have {n_vars} columns, one per variable; "
                f"received shape {tuple(inputs.shape)}."
            )
        return fn(inputs).reshape(-1, 1)

    return evaluate


@dataclass(frozen=True)
class SampledExpression:
    """Finite values of an expression at sample points.

    Attributes
    ----------
    inputs : torch.Tensor, shape (n_kept, n_vars)
        Sample points where the value is finite.
    values : torch.Tensor, shape (n_kept, 1)
        Values at `inputs`.
    dropped : int
        Number of points dropped because the value was NaN or infinite.
    """

    inputs: torch.Tensor
    values: torch.Tensor
    dropped: int


MIN_FINITE_POINTS = 10
"""Fewest finite points `sample_expression` accepts. Its minimum share of finite points is
`kan_core.targets.MIN_FINITE_FRACTION`, the rule `make_dataset` applies too."""


def sample_expression(expression: Expression, inputs: torch.Tensor) -> SampledExpression:
    """Evaluate at inputs ``(batch, n_vars)`` and drop points where the value is not finite.

    A function may be undefined on part of the range, such as log(x) for x <= 0 or 1/x at 0.
    Those points are dropped and counted. The result must keep at least `MIN_FINITE_POINTS`
    points and at least `MIN_FINITE_FRACTION` of them, so that log(x) on [-1, 1] keeps its
    right half but a range where f is defined only at a few points is rejected.

    Raises
    ------
    ExpressionError
        If too few points are finite.
    """
    with torch.no_grad():
        values = expression(inputs)
    finite = torch.isfinite(values[:, 0])
    n_kept = int(finite.sum())
    n_total = inputs.shape[0]
    if n_kept < MIN_FINITE_POINTS or n_kept < MIN_FINITE_FRACTION * n_total:
        raise ExpressionError(
            f"Only {n_kept} of {n_total} sample points give a finite value of {expression.text}. "
            f"Choose a range where the function is defined."
        )
    return SampledExpression(inputs[finite], values[finite], n_total - n_kept)


def expression_target(
    expression: Expression, domain: Sequence[Sequence[float]], key: str = "custom"
) -> Target:
    """Wrap an expression as a `Target` that `kan_core.targets.make_dataset` can sample.

    Parameters
    ----------
    expression : Expression
    domain : sequence of (lower, upper), one pair per variable
        Sampling range of each input, finite with lower < upper.
    key : str
        Identifier of the target in URLs.

    Returns
    -------
    Target
        ``fn`` maps ``(batch, n_vars)`` to ``(batch, 1)``; ``label`` is the typed text.

    Raises
    ------
    ValueError
        If `domain` does not have one finite, increasing pair per variable.
    """
    pairs = tuple(tuple(float(bound) for bound in pair) for pair in domain)
    if len(pairs) != len(expression.variables):
        raise ValueError(
            f"domain must have one (lower, upper) pair per variable {expression.variables}; "
            f"received {len(pairs)} pairs."
        )
    for name, pair in zip(expression.variables, pairs):
        if len(pair) != 2:
            raise ValueError(f"The range of {name} must be a (lower, upper) pair; received {pair}.")
        if not (math.isfinite(pair[0]) and math.isfinite(pair[1])):
            raise ValueError(f"The range of {name} must be finite; received {pair}.")
        if pair[0] >= pair[1]:
            raise ValueError(f"The range of {name} must have lower < upper; received {pair}.")
    n_inputs = len(expression.variables)
    return Target(key, expression.text, expression.latex, n_inputs, expression.torch_fn, pairs)

