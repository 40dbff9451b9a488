"""Tests for kan_core.pruning: sparsity penalty, attribution and pruning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kan_core.model import KAN
from kan_core.pruning import SparsityRegularizer, attribution_scores, edge_magnitudes, node_scores, prune
from kan_core.snapping import fix_symbolic


def make_inputs(count=300, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 2 * torch.rand(count, 2, generator=generator, dtype=torch.float64) - 1


def one_path_model(hidden=3):
    """KAN [2, 5, 1] whose only non-zero edges run through hidden node ``hidden``."""
    model = KAN([2, 5, 1], grid_size=5, dtype=torch.float64, seed=0)
    first, second = model.layers
    with torch.no_grad():
        for node in range(5):
            if node == hidden:
                continue
            first.coef[:, node] = 0.0
            first.scale_base[:, node] = 0.0
            second.coef[node, :] = 0.0
            second.scale_base[node, :] = 0.0
    return model


def test_edge_magnitudes_are_mean_absolute_outputs():
    model = KAN([2, 3, 1], dtype=torch.float64, seed=1)
    inputs = make_inputs()
    magnitudes = edge_magnitudes(model, inputs)

    hidden = model.layers[0](inputs)
    expected = [model.layers[0].edge_outputs(inputs).abs().mean(0), model.layers[1].edge_outputs(hidden).abs().mean(0)]
    for found, reference in zip(magnitudes, expected):
        torch.testing.assert_close(found, reference, rtol=1e-12, atol=1e-15)


def test_regularizer_matches_paper_formula():
    model = KAN([2, 3, 1], dtype=torch.float64, seed=1)
    inputs = make_inputs()
    regularizer = SparsityRegularizer(strength=0.01, l1_weight=1.0, entropy_weight=2.0)

    expected = 0.0
    for magnitude in edge_magnitudes(model, inputs):
        values = magnitude.detach().numpy()
        share = values / values.sum()
        expected += values.sum() + 2.0 * float(-(share * np.log(share)).sum())
    assert float(regularizer(model, inputs).detach()) == pytest.approx(0.01 * expected, rel=1e-9)


def test_regularizer_gradient_finite_with_dead_edges():
    model = one_path_model()
    inputs = make_inputs()
    penalty = SparsityRegularizer()(model, inputs)
    penalty.backward()
    for parameter in model.parameters():
        if parameter.grad is not None:
            assert bool(torch.isfinite(parameter.grad).all())
    assert float(model.layers[0].coef.grad.abs().sum()) > 0


def test_regularizer_rejects_negative_strength():
    with pytest.raises(ValueError, match="strength must be >= 0, got -1.0"):
        SparsityRegularizer(strength=-1.0)


def test_prune_shrinks_to_single_path():
    model = one_path_model(hidden=3)
    inputs = make_inputs()
    result = prune(model, inputs, threshold=1e-2)

    assert result.widths == [2, 1, 1]
    assert result.kept_nodes == [[0, 1], [3], [0]]
    assert result.model.widths == [2, 1, 1]
    torch.testing.assert_close(result.model(inputs), model(inputs), rtol=0, atol=1e-12)
    # The original network is left as it was.
    assert bool((model.layers[0].spline_mask == 1).all())


def test_prune_keeps_symbolic_edges():
    model = one_path_model(hidden=2)
    inputs = make_inputs()
    fix_symbolic(model.layers[0], 1, 2, "x^2", inputs[:, 1], params=(0.7, 1.0, 0.0, 0.0))
    result = prune(model, inputs)

    layer = result.model.layers[0]
    assert layer.symbolic_names[1][0] == "x^2"
    assert layer.symbolic_mask[1, 0] == 1.0
    torch.testing.assert_close(layer.symbolic_params[1, 0].detach(), torch.tensor([0.7, 1.0, 0.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(result.model(inputs), model(inputs), rtol=0, atol=1e-12)


def test_prune_in_place_masks_dead_edges():
    model = one_path_model(hidden=1)
    inputs = make_inputs()
    before = model(inputs).detach()
    result = prune(model, inputs, shrink=False)

    assert result.model is model
    assert result.widths == [2, 1, 1]
    expected_first = torch.zeros(2, 5, dtype=torch.float64)
    expected_first[:, 1] = 1.0
    torch.testing.assert_close(model.layers[0].spline_mask, expected_first)
    torch.testing.assert_close(model(inputs).detach(), before, rtol=0, atol=1e-12)


def test_prune_edge_threshold_removes_weak_edge():
    model = one_path_model(hidden=3)
    inputs = make_inputs()
    with torch.no_grad():
        model.layers[0].coef[1, 3] = 0.0
        model.layers[0].scale_base[1, 3] = 0.0
    result = prune(model, inputs, edge_threshold=1e-3)

    layer = result.model.layers[0]
    assert layer.spline_mask[0, 0] == 1.0
    assert layer.spline_mask[1, 0] == 0.0


def test_prune_rejects_removing_every_hidden_node():
    model = one_path_model()
    with pytest.raises(ValueError, match="removes every node of layer 1"):
        prune(model, make_inputs(), threshold=1e6)


def test_node_scores_are_max_magnitudes():
    model = KAN([2, 3, 1], dtype=torch.float64, seed=2)
    inputs = make_inputs()
    (incoming, outgoing), = node_scores(model, inputs)
    first, second = edge_magnitudes(model, inputs)
    torch.testing.assert_close(incoming, first.max(0).values.detach())
    torch.testing.assert_close(outgoing, second.max(1).values.detach())


def test_attribution_of_linear_edges():
    # Output = 2 x + 0.5 y: each edge's score is its share of the output's
    # standard deviation, and the input scores equal the edge scores.
    model = KAN([2, 1], dtype=torch.float64, seed=0)
    inputs = make_inputs(500)
    layer = model.layers[0]
    fix_symbolic(layer, 0, 0, "x", inputs[:, 0], params=(2.0, 1.0, 0.0, 0.0))
    fix_symbolic(layer, 1, 0, "x", inputs[:, 1], params=(0.5, 1.0, 0.0, 0.0))
    edges, nodes = attribution_scores(model, inputs)

    x, y = inputs[:, 0].numpy(), inputs[:, 1].numpy()
    total = np.std(2 * x + 0.5 * y, ddof=1)
    expected = np.array([[np.std(2 * x, ddof=1) / total], [np.std(0.5 * y, ddof=1) / total]])
    np.testing.assert_allclose(edges[0].numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(nodes[0].numpy(), expected[:, 0], rtol=1e-12)
    np.testing.assert_allclose(nodes[1].numpy(), [1.0])


def test_attribution_zero_for_dead_nodes():
    model = one_path_model(hidden=4)
    edges, nodes = attribution_scores(model, make_inputs())
    assert nodes[1][4] > 0
    assert math.isclose(float(nodes[1][:4].abs().sum()), 0.0, abs_tol=1e-12)
