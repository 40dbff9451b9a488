"""Tests for kan_core.formula and the whole symbolic regression pipeline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kan_core.formula import formula, formula_latex, formula_rmse, spline_edges
from kan_core.model import KAN
from kan_core.snapping import auto_symbolic, fix_symbolic

X, Y = sympy.symbols("x y")
TARGET_FORMULA = sympy.exp(sympy.sin(sympy.Float(3.1416) * X) + Y**2)


@pytest.fixture(autouse=True)
def single_thread():
    # Symbolic fits run many small tensor ops that a second thread only slows down.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_inputs(count=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.rand(count, 2, generator=generator, dtype=torch.float64) - 1


def hand_built_model():
    """KAN [2, 1, 1] computing exp(sin(pi x) + y^2) with redundant shifts and scales."""
    model = KAN([2, 1, 1], dtype=torch.float64, seed=0)
    inputs = make_inputs()
    hidden = torch.zeros(200, dtype=torch.float64)
    fix_symbolic(model.layers[0], 0, 0, "sin", inputs[:, 0], params=(0.5, math.pi, 0.0, 0.3))
    fix_symbolic(model.layers[0], 1, 0, "x^2", inputs[:, 1], params=(0.5, 1.0, 0.0, -0.7))
    # 3 * exp(2 h + c) = exp(sin(pi x) + y^2) when 3 exp(c - 0.8) = 1.
    fix_symbolic(model.layers[1], 0, 0, "exp", hidden, params=(3.0, 2.0, 0.8 - math.log(3.0), 0.0))
    return model


def test_formula_of_hand_built_model():
    model = hand_built_model()
    assert formula(model, ("x", "y"), digits=4) == TARGET_FORMULA


def test_raw_formula_matches_forward():
    model = hand_built_model()
    inputs = make_inputs(100, seed=1)
    raw = formula(model, ("x", "y"), digits=None)
    values = sympy.lambdify((X, Y), raw, modules="numpy")(inputs[:, 0].numpy(), inputs[:, 1].numpy())
    np.testing.assert_allclose(values, model(inputs).detach()[:, 0].numpy(), rtol=1e-12)


def test_formula_rmse_against_labels():
    model = hand_built_model()
    inputs = make_inputs(100, seed=2)
    labels = torch.exp(torch.sin(math.pi * inputs[:, :1]) + inputs[:, 1:] ** 2)
    raw = formula(model, ("x", "y"), digits=None)
    assert formula_rmse(raw, ("x", "y"), inputs, labels) < 1e-12

    shifted = formula_rmse(raw + 0.25, ("x", "y"), inputs, labels)
    assert shifted == pytest.approx(0.25, rel=1e-12)


def test_formula_latex_names_functions():
    latex = formula_latex(hand_built_model(), ("x", "y"))
    assert latex == sympy.latex(TARGET_FORMULA)
    assert r"\sin" in latex


def test_formula_skips_pruned_edges():
    model = hand_built_model()
    with torch.no_grad():
        model.layers[0].symbolic_mask[1, 0] = 0.0
    result = formula(model, ("x", "y"), digits=4)
    assert Y not in result.free_symbols
    assert X in result.free_symbols


def test_formula_names_spline_edges():
    model = KAN([2, 1, 1], dtype=torch.float64, seed=0)
    fix_symbolic(model.layers[0], 0, 0, "x", make_inputs()[:, 0], params=(1.0, 1.0, 0.0, 0.0))

    assert spline_edges(model) == [(0, 1, 0), (1, 0, 0)]
    with pytest.raises(ValueError, match=r"^edges \(0, 1, 0\) and \(1, 0, 0\) are still splines; snap them first$"):
        formula(model, ("x", "y"))

    fix_symbolic(model.layers[0], 1, 0, "x", make_inputs()[:, 1], params=(1.0, 1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"^edge \(1, 0, 0\) is still a spline; snap it first$"):
        formula(model, ("x", "y"))


def test_formula_rejects_wrong_variable_count():
    with pytest.raises(ValueError, match="variables must name the 2 inputs, got 1"):
        formula(hand_built_model(), ("x",))


@pytest.mark.slow
def test_pipeline_recovers_exp_sin_formula():
    # Seed 0, 1000 samples (800 train), float64, LBFGS throughout:
    # 20 updates with the sparsity penalty, prune, 10 updates, grid 5 -> 10,
    # 10 updates, auto-snap, 15 updates. bench/bench_symbolic.py times it.
    from kan_core.pruning import SparsityRegularizer, prune
    from kan_core.targets import TARGETS, make_dataset
    from kan_core.training import Trainer

    try:
        from kan_core.grids import refine
    except ImportError:  # the grid step is optional for this pipeline
        refine = None

    def train(model, steps, regularizer=None, exact=False):
        trainer = Trainer(model, data, "lbfgs", regularizer=regularizer, record_every=0)
        if exact:
            # torch stops LBFGS once the loss changes by < 1e-9; the last
            # stage needs to go on to the float64 noise floor.
            trainer.optimizer.param_groups[0]["tolerance_grad"] = 0.0
            trainer.optimizer.param_groups[0]["tolerance_change"] = 0.0
        trainer.step(steps)
        return trainer

    data = make_dataset(TARGETS["exp_sin_pi_x_y2"], 1000, seed=0, dtype=torch.float64)
    model = KAN([2, 5, 1], grid_size=5, dtype=torch.float64, seed=0)
    train(model, 20, SparsityRegularizer(strength=1e-2))

    pruned = prune(model, data.train_input, threshold=1e-2)
    assert pruned.widths == [2, 1, 1]
    model = pruned.model
    train(model, 10)
    if refine is not None:
        refine(model, 10, samples=data.train_input)
        train(model, 10)

    report = auto_symbolic(model, data.train_input, threshold=0.99)
    assert report.complete
    assert [edge.fit.name for edge in report.snapped] == ["sin", "x^2", "exp"]
    trainer = train(model, 15, exact=True)

    assert formula(model, ("x", "y"), digits=4) == TARGET_FORMULA
    assert math.sqrt(trainer.evaluate()["test_loss"]) < 1e-6
    raw = formula(model, ("x", "y"), digits=None)
    assert formula_rmse(raw, ("x", "y"), data.test_input, data.test_label) < 1e-6
