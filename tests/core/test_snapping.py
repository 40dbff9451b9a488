"""Tests for kan_core.snapping: switching KAN edges between splines and symbolic forms."""

from __future__ import annotations

import math

import pytest
import torch

from kan_core.bspline import fit_coefficients
from kan_core.model import KAN
from kan_core.snapping import auto_symbolic, edge_samples, fix_symbolic, suggest_symbolic, unfix_symbolic


@pytest.fixture(autouse=True)
def single_thread():
    # Symbolic fits run many small tensor ops that a second thread only slows down.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_inputs(count=200, features=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.rand(count, features, generator=generator, dtype=torch.float64) - 1


def make_model(widths=(2, 3, 1)):
    return KAN(list(widths), grid_size=5, dtype=torch.float64, seed=0)


def test_fix_symbolic_switches_edge():
    model = make_model()
    inputs = make_inputs()
    layer = model.layers[0]
    before = layer.edge_outputs(inputs).detach()
    x = inputs[:, 1]
    target = 0.5 * torch.sin(2 * x + 0.3) + 0.1

    fit = fix_symbolic(layer, 1, 2, "sin", x, target)

    assert fit.name == "sin"
    assert fit.r2 > 1 - 1e-12
    torch.testing.assert_close(torch.tensor(fit.params), torch.tensor([0.5, 2.0, 0.3, 0.1]), rtol=0, atol=1e-8)
    assert layer.spline_mask[1, 2] == 0.0
    assert layer.symbolic_mask[1, 2] == 1.0
    assert layer.symbolic_names[1][2] == "sin"
    torch.testing.assert_close(layer.symbolic_params[1, 2].detach(), torch.tensor(fit.params, dtype=torch.float64))

    after = layer.edge_outputs(inputs).detach()
    torch.testing.assert_close(after[:, 1, 2], target, rtol=0, atol=1e-8)
    others = torch.ones(2, 3, dtype=torch.bool)
    others[1, 2] = False
    torch.testing.assert_close(after[:, others], before[:, others], rtol=0, atol=0)


def test_fixed_parameters_keep_training():
    model = make_model()
    inputs = make_inputs()
    layer = model.layers[0]
    x = inputs[:, 0]
    fix_symbolic(layer, 0, 1, "x^2", x, 0.3 * x**2 - 0.2)

    model(inputs).square().mean().backward()
    gradient = layer.symbolic_params.grad
    assert gradient is not None
    assert float(gradient[0, 1].abs().sum()) > 0
    assert float(gradient[1, 1].abs().sum()) == 0.0


def test_unfix_restores_spline():
    model = make_model()
    inputs = make_inputs()
    before = model(inputs).detach()
    layer = model.layers[0]
    x = inputs[:, 0]
    fix_symbolic(layer, 0, 0, "tanh", x, torch.tanh(3 * x))
    assert not torch.allclose(model(inputs).detach(), before)

    unfix_symbolic(layer, 0, 0)

    assert layer.spline_mask[0, 0] == 1.0
    assert layer.symbolic_mask[0, 0] == 0.0
    assert layer.symbolic_names[0][0] is None
    torch.testing.assert_close(model(inputs).detach(), before, rtol=0, atol=1e-15)


def test_fix_with_params_skips_fit():
    model = make_model()
    layer = model.layers[1]
    x = torch.linspace(0.5, 2.0, 50, dtype=torch.float64)
    fit = fix_symbolic(layer, 2, 0, "log", x, params=(2.0, 1.5, 0.1, -1.0))

    assert fit.params == (2.0, 1.5, 0.1, -1.0)
    assert math.isnan(fit.r2)
    assert layer.symbolic_names[2][0] == "log"


def test_fix_rejects_undefined_params():
    model = make_model()
    layer = model.layers[0]
    x = torch.linspace(-1.0, 1.0, 200, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"log is undefined on 100 of 200 inputs of edge \(0, 0\)"):
        fix_symbolic(layer, 0, 0, "log", x, params=(1.0, 1.0, 0.0, 0.0))
    # The failed call changed nothing.
    assert layer.spline_mask[0, 0] == 1.0
    assert layer.symbolic_mask[0, 0] == 0.0
    assert layer.symbolic_names[0][0] is None


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ((2, 0, "sin"), r"i must be in \[0, 1\], got 2"),
        ((0, 3, "sin"), r"j must be in \[0, 2\], got 3"),
        ((0, 0, "sinh"), "unknown symbolic function 'sinh'"),
    ],
)
def test_fix_rejects_invalid_edge(arguments, match):
    layer = make_model().layers[0]
    x = torch.linspace(-1.0, 1.0, 20, dtype=torch.float64)
    with pytest.raises(ValueError, match=match):
        fix_symbolic(layer, *arguments, x, torch.sin(x))


def test_fix_needs_outputs_or_params():
    layer = make_model().layers[0]
    x = torch.linspace(-1.0, 1.0, 20, dtype=torch.float64)
    with pytest.raises(ValueError, match="needs the edge outputs y"):
        fix_symbolic(layer, 0, 0, "sin", x)


def test_edge_samples_match_layer_outputs():
    model = make_model()
    inputs = make_inputs()
    x, y = edge_samples(model, inputs, 1, 2, 0)

    hidden = model.layers[0](inputs).detach()
    torch.testing.assert_close(x, hidden[:, 2], rtol=0, atol=1e-14)
    torch.testing.assert_close(y, model.layers[1].edge_outputs(hidden).detach()[:, 2, 0], rtol=0, atol=1e-14)


def test_suggest_ranks_edge_function_first():
    model = make_model()
    inputs = make_inputs()
    fix_symbolic(model.layers[0], 1, 0, "gaussian", inputs[:, 1], params=(0.8, 2.0, 0.5, -0.1))
    suggestions = suggest_symbolic(model, inputs, 0, 1, 0, top=3)

    assert len(suggestions) == 3
    assert suggestions[0].name == "gaussian"
    assert suggestions[0].r2 > 1 - 1e-10
    torch.testing.assert_close(torch.tensor(suggestions[0].params), torch.tensor([0.8, 2.0, 0.5, -0.1]), atol=1e-6, rtol=0)


def spline_model(function, seed=0):
    """KAN [2, 1] without base whose edge (0, 0) is a close spline fit of ``function``."""
    model = KAN([2, 1], grid_size=20, base_activation=None, noise_scale=1.0, dtype=torch.float64, seed=seed)
    layer = model.layers[0]
    x = torch.linspace(-1.0, 1.0, 400, dtype=torch.float64)[:, None].repeat(1, 2)
    coefficients = fit_coefficients(x, function(x)[:, :, None], layer.knots, layer.degree)
    with torch.no_grad():
        layer.coef[0, 0] = coefficients[0, 0]
    return model


def test_auto_symbolic_snaps_clear_edges_only():
    # Edge (0, 0) is a spline of x^2; edge (1, 0) keeps its random wiggly
    # coefficients, which no candidate fits to R^2 >= 0.9999.
    model = spline_model(lambda x: x**2)
    inputs = make_inputs(300)
    report = auto_symbolic(model, inputs, threshold=0.9999)

    assert [(edge.layer, edge.i, edge.j) for edge in report.snapped] == [(0, 0, 0)]
    assert report.snapped[0].fit.name == "x^2"
    assert [(edge.layer, edge.i, edge.j) for edge in report.skipped] == [(0, 1, 0)]
    assert report.skipped[0].fit.r2 < 0.9999
    assert not report.complete
    layer = model.layers[0]
    assert layer.symbolic_names[0][0] == "x^2"
    assert layer.spline_mask[1, 0] == 1.0
    assert layer.symbolic_mask[1, 0] == 0.0


def test_auto_symbolic_skips_symbolic_and_pruned_edges():
    model = spline_model(lambda x: x**2)
    inputs = make_inputs(300)
    layer = model.layers[0]
    with torch.no_grad():
        layer.spline_mask[1, 0] = 0.0
    fix_symbolic(layer, 0, 0, "x", inputs[:, 0], params=(1.0, 1.0, 0.0, 0.0))

    report = auto_symbolic(model, inputs)
    assert report.snapped == []
    assert report.skipped == []
    assert report.complete


def test_auto_symbolic_rejects_invalid_threshold():
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\], got 1.5"):
        auto_symbolic(make_model(), make_inputs(), threshold=1.5)
