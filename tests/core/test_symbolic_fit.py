"""Tests for kan_core.symbolic: fitting a * f(b * x + c) + d and ranking candidates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kan_core.symbolic import (
    ACCURACY_CAP_BITS,
    SymbolicFit,
    fit_symbolic,
    rank_candidates,
    symbolic_score,
)
from kan_core.symbolic_library import LIBRARY



@pytest.fixture(autouse=True)
def single_thread():
    # The fits run many small tensor ops; on a busy 2-core machine a second
    # intra-op thread makes them several times slower, not faster.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# name, (a, b, c, d), x range. Ranges keep b x + c inside the domain of f and
# make every identifiable combination of parameters visible in the samples.
RECOVERY_CASES = [
    ("x^2", (1.5, 2.0, -0.5, 0.3), (-1.0, 1.0)),
    ("x^3", (0.7, 1.5, 0.4, -0.2), (-1.0, 1.0)),
    ("x^4", (-0.8, 1.2, 0.3, 0.1), (-1.0, 1.0)),
    ("1/x", (0.5, 2.0, 3.0, -1.0), (-1.0, 1.0)),
    ("1/x^2", (0.4, 1.0, 2.0, 0.5), (-1.0, 1.0)),
    ("sqrt", (1.3, 2.0, 2.5, -0.4), (-1.0, 1.0)),
    ("sqrt", (0.6, -1.5, 2.0, 0.2), (-1.0, 1.0)),
    ("exp", (0.6, 1.7, 0.2, -0.3), (-1.0, 1.0)),
    ("exp", (1.1, -2.2, 0.0, 0.4), (-1.0, 1.0)),
    ("log", (0.9, 1.5, 2.0, 0.2), (-1.0, 1.0)),
    ("log", (-0.5, -3.0, 4.0, 0.1), (-1.0, 1.0)),
    ("sin", (1.2, 3.0, 0.5, 0.1), (-1.0, 1.0)),
    ("sin", (0.8, 7.0, -1.2, -0.3), (-2.0, 1.0)),
    ("cos", (0.8, 2.5, -0.7, 0.2), (-1.0, 1.0)),
    ("tan", (0.5, 1.0, 0.2, 0.1), (-1.0, 1.0)),
    ("tanh", (1.1, 3.0, -0.5, 0.2), (-1.0, 1.0)),
    ("abs", (0.9, 2.0, -0.4, 0.1), (-1.0, 1.0)),
    ("arctan", (1.5, 2.5, 0.6, -0.1), (-1.0, 1.0)),
    ("arcsin", (0.9, 0.6, 0.2, 0.3), (-1.0, 1.0)),
    ("gaussian", (1.4, 2.0, -0.6, 0.05), (-1.0, 1.0)),
    ("gaussian", (-0.7, 4.0, 1.0, 0.5), (-3.0, 3.0)),
    ("x", (2.0, 1.0, 0.0, 1.0), (-1.0, 1.0)),
]


def identifiable(name: str, a: float, b: float, c: float, d: float) -> tuple[float, ...]:
    """Return the parameter combinations that the curve determines uniquely."""
    if name in ("x^2", "x^3", "x^4"):
        power = int(name[-1])
        return (a * b**power, c / b, d)
    if name == "abs":
        return (a * abs(b), c / b, d)
    if name == "1/x":
        return (a / b, c / b, d)
    if name == "1/x^2":
        return (a / b**2, c / b, d)
    if name == "sqrt":
        return (a * math.sqrt(abs(b)), math.copysign(1.0, b), c / b, d)
    if name == "log":
        return (a, math.copysign(1.0, b), c / b, d + a * math.log(abs(b)))
    if name == "exp":
        return (a * math.exp(c), b, d)
    if name == "x":
        return (a * b, a * c + d)
    # sin, cos, tan, tanh, arctan, arcsin, gaussian: the test cases already
    # use the canonical b > 0 and c in (-pi/2, pi/2] for the periodic ones.
    return (a, b, c, d)


def samples(name, params, x_range, count=200, dtype=torch.float64):
    a, b, c, d = params
    x = torch.linspace(x_range[0], x_range[1], count, dtype=dtype)
    y = a * LIBRARY[name].torch_fn(b * x + c) + d
    return x, y


@pytest.mark.parametrize(("name", "params", "x_range"), RECOVERY_CASES)
def test_fit_recovers_parameters(name, params, x_range):
    x, y = samples(name, params, x_range)
    fit = fit_symbolic(x, y, name)

    assert fit.name == name
    assert fit.r2 > 0.9999
    expected = identifiable(name, *params)
    found = identifiable(name, *fit.params)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)


def test_fit_sgn_places_jump_between_samples():
    x = torch.linspace(-1.0, 1.0, 201, dtype=torch.float64)
    y = 0.7 * torch.sign(x - 0.305) + 0.2
    fit = fit_symbolic(x, y, "sgn")

    assert fit.r2 > 0.9999
    assert fit.a * math.copysign(1.0, fit.b) == pytest.approx(0.7, abs=1e-9)
    assert fit.d == pytest.approx(0.2, abs=1e-9)
    jump = -fit.c / fit.b
    assert 0.3 <= jump <= 0.31


def test_fit_constant_candidate_has_zero_r2():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(300, generator=generator, dtype=torch.float64)
    y = torch.sin(5 * x) + 0.1 * torch.randn(300, generator=generator, dtype=torch.float64)
    fit = fit_symbolic(x, y, "0")

    assert fit.r2 == 0.0
    assert fit.a == 0.0
    assert fit.d == pytest.approx(float(y.mean()), abs=1e-12)


def test_fit_constant_output_prefers_zero():
    x = torch.linspace(-1.0, 1.0, 100, dtype=torch.float64)
    y = torch.full_like(x, 0.7)
    ranking = rank_candidates(x, y)

    assert ranking[0].name == "0"
    assert ranking[0].d == pytest.approx(0.7, abs=1e-12)
    for fit in ranking:
        assert fit.r2 == 1.0


@pytest.mark.parametrize(("name", "degree"), [("x", 1), ("x^2", 2)])
def test_fit_matches_polynomial_regression(name, degree):
    # a (x + c)^2 + d spans every quadratic, so its best R^2 must equal the
    # least-squares polynomial fit of numpy on noisy samples.
    generator = torch.Generator().manual_seed(1)
    x = 4 * torch.rand(400, generator=generator, dtype=torch.float64) - 2
    y = 0.3 * x**2 - x + 0.2 * torch.randn(400, generator=generator, dtype=torch.float64)
    coefficients = np.polyfit(x.numpy(), y.numpy(), degree)
    residual = y.numpy() - np.polyval(coefficients, x.numpy())
    expected_r2 = 1 - (residual**2).sum() / ((y.numpy() - y.numpy().mean()) ** 2).sum()

    fit = fit_symbolic(x, y, name)
    assert fit.r2 == pytest.approx(expected_r2, abs=1e-9)


def test_fit_accepts_float32_column():
    x, y = samples("tanh", (1.1, 3.0, -0.5, 0.2), (-1.0, 1.0), dtype=torch.float32)
    fit = fit_symbolic(x[:, None], y[:, None], "tanh")
    assert fit.r2 > 0.9999
    np.testing.assert_allclose(fit.params, (1.1, 3.0, -0.5, 0.2), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", ["sin", "exp", "log", "1/x", "gaussian", "arcsin"])
def test_evaluate_and_sympy_agree(name):
    x, y = samples(name, dict((case[0], case[1]) for case in RECOVERY_CASES)[name], (-1.0, 1.0))
    fit = fit_symbolic(x, y, name)
    torch.testing.assert_close(fit.evaluate(x), y, rtol=1e-6, atol=1e-6)

    variable = sympy.Symbol("v")
    expression = fit.sympy(variable)
    assert expression.free_symbols == {variable}
    exact = sympy.lambdify(variable, expression, modules="numpy")(x.numpy())
    np.testing.assert_allclose(exact, fit.evaluate(x).numpy(), rtol=1e-10, atol=1e-10)


def sine_edge(count=1000):
    x = torch.linspace(-2.0, 2.0, count, dtype=torch.float64)
    return x, torch.sin(2 * x + 1)


def test_rank_sine_lists_sin_then_cos():
    x, y = sine_edge()
    ranking = rank_candidates(x, y)
    sin_fit, cos_fit = ranking[0], ranking[1]

    assert sin_fit.name == "sin"
    assert cos_fit.name == "cos"
    assert sin_fit.r2 > 1 - 1e-12
    assert cos_fit.score == sin_fit.score
    np.testing.assert_allclose(sin_fit.params, (1.0, 2.0, 1.0, 0.0), atol=1e-8)

    # cos reports the same curve with the phase moved by pi/2, written with
    # b > 0 and c in (-pi/2, pi/2]: cos(2x + 1 - pi/2) = sin(2x + 1).
    np.testing.assert_allclose(cos_fit.params, (1.0, 2.0, 1.0 - math.pi / 2, 0.0), atol=1e-8)
    torch.testing.assert_close(cos_fit.evaluate(x), y, rtol=0, atol=1e-8)


@pytest.mark.parametrize("weight", np.linspace(0.0, 9.5, 20).tolist())
def test_rank_sine_first_for_sensible_weights(weight):
    x, y = sine_edge(400)
    ranking = rank_candidates(x, y, simplicity_weight=weight)
    names = [fit.name for fit in ranking]

    assert names[0] == "sin"
    assert names.index("sin") < names.index("0")
    assert names.index("sin") < names.index("x")


def test_rank_noisy_sine_first():
    generator = torch.Generator().manual_seed(2)
    x = 4 * torch.rand(500, generator=generator, dtype=torch.float64) - 2
    y = torch.sin(2 * x + 1) + 0.05 * torch.randn(500, generator=generator, dtype=torch.float64)
    ranking = rank_candidates(x, y)

    assert ranking[0].name == "sin"
    assert ranking[0].b == pytest.approx(2.0, abs=0.02)
    assert ranking[0].c == pytest.approx(1.0, abs=0.03)


def test_rank_noisy_line_prefers_x():
    # Every candidate reaches the noise floor, so the simplest one wins.
    generator = torch.Generator().manual_seed(3)
    x = 2 * torch.rand(300, generator=generator, dtype=torch.float64) - 1
    y = 1.5 * x - 0.2 + 0.05 * torch.randn(300, generator=generator, dtype=torch.float64)
    assert rank_candidates(x, y)[0].name == "x"


def test_rank_sorted_by_score():
    x, y = samples("gaussian", (1.4, 2.0, -0.6, 0.05), (-1.0, 1.0))
    ranking = rank_candidates(x, y)
    scores = [fit.score for fit in ranking]

    assert ranking[0].name == "gaussian"
    assert scores == sorted(scores, reverse=True)
    assert {fit.name for fit in ranking} == set(LIBRARY)
    for fit in ranking:
        assert isinstance(fit, SymbolicFit)
        assert 0.0 <= fit.r2 <= 1.0
        assert fit.score == symbolic_score(fit.r2, fit.complexity)


def test_rank_respects_names():
    x, y = sine_edge(200)
    ranking = rank_candidates(x, y, names=["x^2", "x", "tanh"])
    assert sorted(fit.name for fit in ranking) == ["tanh", "x", "x^2"]


def test_score_formula():
    assert symbolic_score(0.0, 0) == 0.0
    assert symbolic_score(0.75, 1, simplicity_weight=0.5) == pytest.approx(2.0 - 0.5)
    assert symbolic_score(1.0, 3, simplicity_weight=1.0) == pytest.approx(ACCURACY_CAP_BITS - 3)


@pytest.mark.parametrize(
    ("x", "y", "name", "weight", "error", "match"),
    [
        (torch.zeros(5), torch.zeros(5), "sinh", 1.0, ValueError, "unknown symbolic function 'sinh'"),
        (torch.zeros(5), torch.zeros(4), "sin", 1.0, ValueError, "same number of samples, got 5 and 4"),
        (torch.zeros(1), torch.zeros(1), "sin", 1.0, ValueError, "at least 2 samples, got 1"),
        (torch.tensor([0.0, math.nan]), torch.zeros(2), "sin", 1.0, ValueError, "x must be finite"),
        (torch.zeros(5, 2), torch.zeros(5), "sin", 1.0, ValueError, r"shape \(batch,\) or \(batch, 1\), got \(5, 2\)"),
        (np.zeros(5), torch.zeros(5), "sin", 1.0, TypeError, "x must be a torch.Tensor, got ndarray"),
        (torch.zeros(5), torch.zeros(5), "sin", -1.0, ValueError, "simplicity_weight must be >= 0, got -1.0"),
    ],
)
def test_fit_rejects_invalid_input(x, y, name, weight, error, match):
    with pytest.raises(error, match=match):
        fit_symbolic(x, y, name, simplicity_weight=weight)
