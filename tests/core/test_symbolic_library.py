"""Tests for kan_core.symbolic_library: exact sympy forms and safe torch forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kan_core.symbolic_library import ARCSIN_EPS, EXP_MAX, LIBRARY, POLE_EPS, SQRT_EPS, SymbolicFunction

REQUIRED_NAMES = [
    "0", "x", "x^2", "x^3", "x^4", "1/x", "1/x^2", "sqrt", "exp", "log",
    "sin", "cos", "tan", "tanh", "abs", "sgn", "arctan", "arcsin", "gaussian",
]  # fmt: skip

# Sample points; each test keeps those inside the function's domain mask.
EXACT_POINTS = np.concatenate([np.linspace(-3.0, 3.0, 601), [-0.999, 0.999, 7.5, 12.0, 19.5]])

SINGULAR_POINTS = [
    0.0, -0.0, 1e-12, -1e-12, -1.0, -5.0, 1.0, -1.0, 2.0, -2.0,
    math.pi / 2, -math.pi / 2, 3 * math.pi / 2, 1000.0, -1000.0, 1e6, -1e6,
]  # fmt: skip


def exact_numpy(name: str):
    u = sympy.Symbol("u")
    return sympy.lambdify(u, LIBRARY[name].sympy_fn(u), modules="numpy")


def test_library_contains_required_names():
    assert set(REQUIRED_NAMES) <= set(LIBRARY)
    for name, entry in LIBRARY.items():
        assert isinstance(entry, SymbolicFunction)
        assert entry.name == name
        assert isinstance(entry.complexity, int)
        assert entry.parity in ("even", "odd", None)


def test_complexity_scale_order():
    complexity = {name: entry.complexity for name, entry in LIBRARY.items()}
    assert complexity["0"] < complexity["x"]
    assert complexity["x"] < complexity["x^2"] <= complexity["x^3"] <= complexity["x^4"]
    assert complexity["x^3"] < complexity["sin"]
    assert complexity["sin"] == complexity["cos"] == complexity["exp"] == complexity["log"]
    assert complexity["sin"] < complexity["tan"]
    assert complexity["sin"] < complexity["arcsin"]
    assert max(complexity.values()) == complexity["tan"]


@pytest.mark.parametrize("name", REQUIRED_NAMES)
def test_torch_matches_sympy_on_domain(name):
    entry = LIBRARY[name]
    u = torch.tensor(EXACT_POINTS, dtype=torch.float64)
    inside = entry.domain(u)
    u = u[inside]
    assert u.numel() >= 50

    expected = np.broadcast_to(exact_numpy(name)(u.numpy()), u.shape).astype(np.float64)
    actual = entry.torch_fn(u).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("name", "point"),
    [("1/x", 0.0), ("1/x^2", 0.0), ("log", 0.0), ("log", -1.0), ("sqrt", -1.0),
     ("arcsin", 1.0 + 1e-9), ("arcsin", -2.0), ("tan", math.pi / 2), ("exp", 1000.0)],
)  # fmt: skip
def test_domain_excludes_singular_points(name, point):
    u = torch.tensor([point], dtype=torch.float64)
    assert not bool(LIBRARY[name].domain(u)[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", REQUIRED_NAMES)
def test_safe_value_and_gradient_finite(name, dtype):
    u = torch.tensor(SINGULAR_POINTS, dtype=dtype, requires_grad=True)
    value = LIBRARY[name].torch_fn(u)
    assert value.dtype == dtype
    assert bool(torch.isfinite(value).all()), value

    # Squared loss as in training: the gradient of (a f(u))^2 must stay finite.
    loss = (3.0 * value).square().sum()
    if loss.requires_grad:
        (gradient,) = torch.autograd.grad(loss, u)
        assert bool(torch.isfinite(gradient).all()), gradient


def test_safe_forms_at_singular_points():
    zero = torch.zeros(1, dtype=torch.float64)
    minus_one = -torch.ones(1, dtype=torch.float64)

    assert LIBRARY["1/x"].torch_fn(zero).item() == pytest.approx(1 / POLE_EPS, rel=1e-12)
    assert LIBRARY["1/x"].torch_fn(-zero).item() == pytest.approx(-1 / POLE_EPS, rel=1e-12)
    assert LIBRARY["1/x^2"].torch_fn(zero).item() == pytest.approx(POLE_EPS**-2, rel=1e-12)
    assert LIBRARY["log"].torch_fn(minus_one).item() == pytest.approx(math.log(POLE_EPS), rel=1e-12)
    assert LIBRARY["sqrt"].torch_fn(minus_one).item() == pytest.approx(math.sqrt(SQRT_EPS), rel=1e-12)
    assert LIBRARY["exp"].torch_fn(torch.tensor([1000.0])).item() == pytest.approx(math.exp(EXP_MAX), rel=1e-6)
    assert LIBRARY["arcsin"].torch_fn(torch.tensor([2.0], dtype=torch.float64)).item() == pytest.approx(math.asin(1 - ARCSIN_EPS), rel=1e-12)
    assert abs(LIBRARY["tan"].torch_fn(torch.tensor([math.pi / 2])).item()) <= 1 / POLE_EPS * (1 + 1e-6)


def test_safe_gradient_is_zero_in_guard_band():
    # Inside the guard the output is a constant, so training gets no push
    # from those samples instead of an infinite one.
    u = torch.tensor([0.0, 1e-6, -1e-6], dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(LIBRARY["1/x"].torch_fn(u).sum(), u)
    assert torch.equal(gradient, torch.zeros(3, dtype=torch.float64))

    u = torch.tensor([-2.0, 0.0], dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(LIBRARY["log"].torch_fn(u).sum(), u)
    assert torch.equal(gradient, torch.zeros(2, dtype=torch.float64))


@pytest.mark.parametrize("name", ["1/x", "log", "sqrt", "tan", "arcsin", "exp", "gaussian"])
def test_safe_gradient_matches_exact_derivative(name):
    # d/du of the exact function, by sympy, at points inside the domain.
    symbol = sympy.Symbol("u")
    derivative = sympy.lambdify(symbol, sympy.diff(LIBRARY[name].sympy_fn(symbol), symbol), modules="numpy")
    points = torch.tensor([0.3, 0.55, 0.8], dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(LIBRARY[name].torch_fn(points).sum(), points)
    np.testing.assert_allclose(gradient.numpy(), derivative(points.detach().numpy()), rtol=1e-10)


@pytest.mark.parametrize("name", REQUIRED_NAMES)
def test_parity_matches_function(name):
    parity = LIBRARY[name].parity
    u = torch.linspace(0.1, 0.9, 9, dtype=torch.float64)
    fn = LIBRARY[name].torch_fn
    if parity == "even":
        torch.testing.assert_close(fn(-u), fn(u), rtol=1e-12, atol=1e-12)
    elif parity == "odd":
        torch.testing.assert_close(fn(-u), -fn(u), rtol=1e-12, atol=1e-12)
    else:
        assert name in ("sqrt", "exp", "log")
