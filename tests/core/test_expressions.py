"""Tests of formula parsing: known values, sympy forms, sampling and random formulas.

The torch function and the sympy expression are built by separate walks of the syntax tree,
so comparing them on random formulas checks each against the other. Known values are checked
against torch and math written out by hand.
"""

import math
import re

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kan_core.expressions import (
    FUNCTIONS,
    MIN_FINITE_POINTS,
    Expression,
    ExpressionError,
    expression_target,
    parse_expression,
    sample_expression,
)
from kan_core.targets import make_dataset

X, Y = sympy.symbols("x y", real=True)


def grid(n: int = 101, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    # low + step * i rather than torch.linspace, so that 0 is hit exactly on [-1, 1].
    steps = torch.arange(n, dtype=torch.float64)[:, None]
    return low + (high - low) * steps / (n - 1)


def evaluate(text: str, inputs: torch.Tensor, variables=("x",)) -> torch.Tensor:
    return parse_expression(text, variables)(inputs)


def test_sin_pi_x_matches_torch():
    x = grid()
    expected = torch.sin(math.pi * x)
    torch.testing.assert_close(evaluate("sin(pi*x)", x), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "closed_form"),
    [
        ("x^2", lambda x: x**2),
        ("x**2", lambda x: x**2),
        ("-x**2", lambda x: -(x**2)),
        ("-x^2", lambda x: -(x**2)),
        ("2*x^3 - x/4 + 1", lambda x: 2 * x**3 - x / 4 + 1),
        ("x^-2", lambda x: x**-2),
        ("+x", lambda x: x),
        ("--x", lambda x: x),
        ("min(x, 0.2)", lambda x: torch.clamp(x, max=0.2)),
        ("max(x, -x)", lambda x: x.abs()),
        ("abs(x) + sign(x) + sgn(x)", lambda x: x.abs() + 2 * torch.sign(x)),
        ("e^x", torch.exp),
        ("exp(sin(pi*x) + x^2)", lambda x: torch.exp(torch.sin(math.pi * x) + x**2)),
        ("arctan(x) + atan(x)", lambda x: 2 * torch.atan(x)),
        ("arcsin(x) + asin(x) + arccos(x)", lambda x: 2 * torch.asin(x) + torch.acos(x)),
        ("tanh(x) + sinh(x) * cosh(x) - tan(x)", lambda x: x.tanh() + x.sinh() * x.cosh() - x.tan()),
        ("1/(1 + x^2)", lambda x: 1 / (1 + x**2)),
    ],
)
def test_known_values(text, closed_form):
    x = grid()
    torch.testing.assert_close(evaluate(text, x), closed_form(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2^3^2", 512.0),
        ("2**3**2", 512.0),
        ("-2^2", -4.0),
        ("(-2)^2", 4.0),
        ("pi", math.pi),
        ("e", math.e),
        ("min(3, 2)", 2.0),
        ("max(3, 2)", 3.0),
        ("10/4", 2.5),
        ("1e3 + .5 + 2.", 1002.5),
        ("log(e^2)", 2.0),
        ("log10(1000) + log2(8) + ln(e)", 7.0),
        ("sqrt(16)", 4.0),
    ],
)
def test_constant_formulas(text, expected):
    values = evaluate(text, grid(5))
    assert values.shape == (5, 1)
    expected_values = torch.full((5, 1), expected, dtype=torch.float64)
    torch.testing.assert_close(values, expected_values, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sin(pi*x)", sympy.sin(sympy.pi * X)),
        ("x^2", X**2),
        ("-x**2", -(X**2)),
        ("2^3^2", sympy.Integer(512)),
        ("min(x, y)", sympy.Min(X, Y)),
        ("max(x, 1)", sympy.Max(X, 1)),
        ("e^x + pi", sympy.exp(X) + sympy.pi),
        ("x/2 - y", X / 2 - Y),
        ("sqrt(x) * log(y)", sympy.sqrt(X) * sympy.log(Y)),
        ("abs(x) + sgn(y)", sympy.Abs(X) + sympy.sign(Y)),
        ("atan(x) + arctan(y)", sympy.atan(X) + sympy.atan(Y)),
        ("log10(x)", sympy.log(X) / sympy.log(10)),
    ],
)
def test_sympy_form(text, expected):
    expression = parse_expression(text, ("x", "y"))
    assert sympy.simplify(expression.sympy_expr - expected) == 0


def test_latex_of_power():
    expression = parse_expression("x^2 + sin(pi*x)")
    assert expression.latex == sympy.latex(X**2 + sympy.sin(sympy.pi * X))


def test_variables_map_to_columns():
    inputs = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, -3.0]], dtype=torch.float64)
    values = evaluate("x + 10*y + 100*z + 1000*w", inputs, ("x", "y", "z", "w"))
    expected = inputs @ torch.tensor([[1.0], [10.0], [100.0], [1000.0]], dtype=torch.float64)
    torch.testing.assert_close(values, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_dtype_follows_input(dtype):
    x = grid(7).to(dtype)
    for text in ["sin(x) + 1", "3"]:
        values = evaluate(text, x)
        assert values.dtype == dtype
        assert values.shape == (7, 1)


def test_output_does_not_alias_inputs():
    inputs = grid(5)
    values = evaluate("x", inputs)
    values += 1.0
    torch.testing.assert_close(inputs, grid(5), rtol=0, atol=0)


def test_expression_is_frozen():
    expression = parse_expression("x")
    with pytest.raises(AttributeError):
        expression.text = "y"  # type: ignore[misc]


def test_call_rejects_wrong_shape():
    expression = parse_expression("x + y", ("x", "y"))
    with pytest.raises(ValueError, match="2 columns"):
        expression(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        expression(torch.zeros(4, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        expression(torch.zeros(4, 2, dtype=torch.int64))


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ((), "at least one"),
        (("x", "x"), "distinct"),
        (("sin",), "function"),
        (("pi",), "constant"),
        (("x_1",), "letter"),
        (("a", "b", "c", "d", "f"), "at most 4"),
    ],
)
def test_invalid_variables_rejected(variables, message):
    with pytest.raises(ValueError, match=message):
        parse_expression("1", variables)


def test_error_column_is_one_based():
    with pytest.raises(ExpressionError, match="column 7") as info:
        parse_expression("x + 2*foo(x)")
    assert info.value.column == 7


def test_error_column_counts_typed_carets():
    # "x^2 + q" becomes "x**2 + q" before parsing, and the column must still point at q.
    with pytest.raises(ExpressionError, match="'q' at column 7") as info:
        parse_expression("x^2 + q")
    assert info.value.column == 7


def test_sample_drops_log_of_negative():
    expression = parse_expression("log(x)")
    x = grid(201)
    sampled = sample_expression(expression, x)
    assert sampled.dropped == 101  # x in [-1, 0]: NaN below 0 and -inf at 0
    assert sampled.inputs.shape == (100, 1)
    assert bool((sampled.inputs > 0).all())
    torch.testing.assert_close(sampled.values, torch.log(sampled.inputs), rtol=0, atol=0)


@pytest.mark.parametrize("text", ["1/x", "sqrt(x)", "x^-1", "arcsin(2*x)", "log(x)*x"])
def test_sample_keeps_only_finite_points(text):
    sampled = sample_expression(parse_expression(text), grid(201))
    assert bool(torch.isfinite(sampled.values).all())
    assert sampled.dropped >= 1
    assert sampled.inputs.shape[0] + sampled.dropped == 201


def test_sample_rejects_mostly_undefined():
    with pytest.raises(ExpressionError, match="Only 10 of 201 sample points"):
        sample_expression(parse_expression("sqrt(x - 0.905)"), grid(201))


def test_sample_rejects_too_few_points():
    x = grid(MIN_FINITE_POINTS - 1, 1.0, 2.0)
    with pytest.raises(ExpressionError, match="Choose a range"):
        sample_expression(parse_expression("x"), x)


def test_expression_target_feeds_make_dataset():
    expression = parse_expression("sin(pi*x) * y", ("x", "y"))
    target = expression_target(expression, [(-1.0, 1.0), (0.0, 2.0)])
    assert target.n_inputs == 2
    assert target.label == "sin(pi*x) * y"
    assert target.latex == expression.latex
    dataset = make_dataset(target, 50, seed=1)
    inputs = dataset.train_input
    expected = torch.sin(math.pi * inputs[:, :1]) * inputs[:, 1:]
    torch.testing.assert_close(dataset.train_label, expected, rtol=0, atol=1e-12)
    assert bool((inputs[:, 1] >= 0).all())


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ([(-1.0, 1.0)], "one \\(lower, upper\\) pair per variable"),
        ([(-1.0, 1.0), (2.0, 1.0)], "lower < upper"),
        ([(-1.0, 1.0), (0.0, math.inf)], "finite"),
    ],
)
def test_expression_target_rejects_bad_domain(domain, message):
    expression = parse_expression("x*y", ("x", "y"))
    with pytest.raises(ValueError, match=message):
        expression_target(expression, domain)


# Random formulas. The grammar leaves out sign, which jumps at 0, and tan, whose poles make the
# two evaluation orders differ by more than rounding.
_UNARY = ["sin", "cos", "exp", "log", "sqrt", "abs", "tanh", "arctan", "sinh", "cosh", "asinh"]
_LEAVES = st.sampled_from(["x", "y", "x", "y", "2", "0.5", "-3", "pi", "e", "1.25"])


@st.composite
def formulas(draw, depth: int | None = None) -> str:
    """Draw formula text of nesting depth 2 to 5 from the allow-listed grammar."""
    if depth is None:
        depth = draw(st.integers(2, 5))
    if depth == 0:
        return draw(_LEAVES)

    def child() -> str:
        # Children are one or two levels shallower, so trees are neither all chains nor all full.
        return draw(formulas(max(0, depth - 1 - int(draw(st.booleans())))))

    kind = draw(st.sampled_from(["binary", "binary", "unary", "power", "minmax", "negate"]))
    if kind == "binary":
        return f"({child()} {draw(st.sampled_from(['+', '-', '*', '/']))} {child()})"
    if kind == "unary":
        return f"{draw(st.sampled_from(_UNARY))}({child()})"
    if kind == "power":
        return f"({child()})^{draw(st.sampled_from(['2', '3', '-1', '0.5']))}"
    if kind == "minmax":
        return f"{draw(st.sampled_from(['min', 'max']))}({child()}, {child()})"
    return f"-{child()}"


FORMULAS = formulas().filter(lambda text: "x" in text or "y" in text)
POINTS = torch.tensor(
    [[-1.7, 0.3], [-0.6, -1.1], [0.0, 0.9], [0.45, 0.45], [1.3, -0.2], [2.1, 1.7], [0.9, -2.3]],
    dtype=torch.float64,
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(FORMULAS)
def test_torch_agrees_with_sympy(text):
    try:
        expression = parse_expression(text, ("x", "y"))
    except ExpressionError as err:
        # Constant parts such as log(-2) or 1/(2 - 2) are rejected on purpose.
        assert re.search("constant part|Division by zero|undefined", str(err))
        return

    torch_values = expression(POINTS)[:, 0].numpy()
    reference = sympy.lambdify((X, Y), expression.sympy_expr, modules="numpy")
    with np.errstate(all="ignore"):
        raw = reference(POINTS[:, 0].numpy(), POINTS[:, 1].numpy())
    # A formula whose variables cancel in sympy returns a scalar, so broadcast it to the points.
    sympy_values = np.broadcast_to(np.asarray(raw, dtype=complex), (len(POINTS),))

    real = np.abs(sympy_values.imag) <= 1e-12 * np.maximum(1.0, np.abs(sympy_values.real))
    both_finite = np.isfinite(torch_values) & np.isfinite(sympy_values.real) & real
    np.testing.assert_allclose(
        torch_values[both_finite],
        sympy_values.real[both_finite],
        rtol=1e-7,
        atol=1e-9,
        err_msg=text,
    )


TOKENS = [
    "x", "y", "(", ")", ",", "+", "-", "*", "/", "^", "**", " ", ".", "0", "1", "9", "1e5", "2.5",
    "pi", "e", "sin", "min", "max", "log", "sqrt", "q", "_", "'", "[", "]", "=", ":", "if",
    "lambda", "j", "0x", "\u0455", "\x00",
]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text(alphabet="xy0123456789.+-*/^(),e pisnoqrtabmxlg", max_size=40))
def test_random_text_raises_expression_error(text):
    try:
        expression = parse_expression(text, ("x", "y"))
    except ExpressionError as err:
        assert str(err) != ""
        return
    assert isinstance(expression, Expression)
    assert expression(POINTS).shape == (len(POINTS), 1)


@pytest.mark.filterwarnings("error::SyntaxWarning")
@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text(max_size=250) | st.lists(st.sampled_from(TOKENS), max_size=80).map("".join))
def test_random_tokens_raise_expression_error(text):
    # Any text at all, and near-formulas built from tokens, either parse or raise
    # ExpressionError with a message, never another exception or a SyntaxWarning.
    try:
        expression = parse_expression(text, ("x", "y"))
    except ExpressionError as err:
        assert str(err) != ""
        return
    assert expression(POINTS).shape == (len(POINTS), 1)


NUMPY_REFERENCE = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "ln": np.log,
    "log10": np.log10, "log2": np.log2, "sqrt": np.sqrt, "abs": np.abs, "sinh": np.sinh,
    "cosh": np.cosh, "tanh": np.tanh, "arctan": np.arctan, "atan": np.arctan,
    "arcsin": np.arcsin, "asin": np.arcsin, "arccos": np.arccos, "acos": np.arccos,
    "arcsinh": np.arcsinh, "asinh": np.arcsinh, "arccosh": np.arccosh, "acosh": np.arccosh,
    "arctanh": np.arctanh, "atanh": np.arctanh, "sign": np.sign, "sgn": np.sign,
    "min": np.minimum, "max": np.maximum,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_matches_numpy(name):
    # arccosh is defined from 1 up. Every other function is defined on (0, 1), so x and 1 - x
    # stay inside its domain.
    low, high = (1.05, 3.0) if name in ("arccosh", "acosh") else (0.05, 0.95)
    x = grid(13, low, high)
    other = 1.0 - x
    inputs = torch.cat([x, other], dim=1)
    args = ", ".join(["x", "y"][: FUNCTIONS[name].arity])
    values = evaluate(f"{name}({args})", inputs, ("x", "y"))[:, 0].numpy()
    reference = NUMPY_REFERENCE[name](*[inputs[:, i].numpy() for i in range(FUNCTIONS[name].arity)])
    np.testing.assert_allclose(values, reference, rtol=1e-13, atol=1e-15)
    assert sorted(NUMPY_REFERENCE) == sorted(FUNCTIONS)
