"""The first-layer cache of kan_core.fused: gradients on cache hits, invalidation, size limit."""

import pytest
import torch

from kan_core import fused
from kan_core.fused import FirstLayerCache, mse_with_gradients
from kan_core.model import KAN


def _randomised_kan(mask_edge: bool = True) -> KAN:
    model = KAN([2, 3, 2], grid_size=[5, 7], dtype=torch.float64, seed=3)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for layer in model.layers:
            layer.coef.normal_(generator=generator)
            layer.scale_spline.uniform_(0.5, 1.5, generator=generator)
            layer.scale_base.normal_(generator=generator)
        if mask_edge:
            model.layers[0].spline_mask[1, 2] = 0.0
    return model


def _data(seed: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    # Wider than the grid range [-1, 1], so some points fall on the zero rows of the table.
    x = torch.rand(80, 2, generator=generator, dtype=torch.float64) * 2.4 - 1.2
    y = torch.rand(80, 2, generator=generator, dtype=torch.float64)
    return x, y


def _gradients(model: KAN, x, y, cache=None) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    arguments = [layer.fused_arguments() for layer in model.layers]
    loss = mse_with_gradients(x, y, arguments, cache)
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


def _autograd_gradients(model: KAN, x, y) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    hidden = x
    for layer in model.layers:
        hidden = layer.edge_outputs(hidden).sum(1)
    loss = torch.nn.functional.mse_loss(hidden, y)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


def _assert_close(actual, expected) -> None:
    actual_loss, actual_grads = actual
    expected_loss, expected_grads = expected
    assert actual_loss == pytest.approx(expected_loss, rel=1e-12)
    assert set(actual_grads) == set(expected_grads)
    for name, grad in expected_grads.items():
        error = (actual_grads[name] - grad).abs().max().item()
        assert error <= 1e-12, name


@pytest.mark.parametrize("mask_edge", [True, False])
def test_cached_gradients_match_autograd(mask_edge):
    model = _randomised_kan(mask_edge)
    x, y = _data()
    cache = FirstLayerCache()
    expected = _autograd_gradients(model, x, y)

    first = _gradients(model, x, y, cache)  # miss: builds the basis
    second = _gradients(model, x, y, cache)  # hit: reuses it

    _assert_close(first, expected)
    _assert_close(second, expected)


def test_cache_reused_for_same_inputs():
    model = _randomised_kan()
    x, _ = _data()
    cache = FirstLayerCache()
    table = model.layers[0].fused_arguments()[0]

    first = cache.lookup(x, table)
    second = cache.lookup(x, table)

    assert first is not None
    assert second is first


def test_cache_follows_inplace_input_change():
    model = _randomised_kan()
    x, y = _data()
    cache = FirstLayerCache()
    _gradients(model, x, y, cache)

    with torch.no_grad():
        x.mul_(0.5)
    expected = _autograd_gradients(model, x, y)

    _assert_close(_gradients(model, x, y, cache), expected)


def test_cache_follows_new_inputs():
    model = _randomised_kan()
    x, y = _data()
    other_x, other_y = _data(seed=7)
    cache = FirstLayerCache()
    _gradients(model, x, y, cache)

    expected = _autograd_gradients(model, other_x, other_y)

    _assert_close(_gradients(model, other_x, other_y, cache), expected)


def test_cache_follows_grid_change():
    model = _randomised_kan()
    x, y = _data()
    cache = FirstLayerCache()
    _gradients(model, x, y, cache)

    with torch.no_grad():
        model.layers[0].knots.mul_(1.1)  # new knots give the layer a new PowerTable
    expected = _autograd_gradients(model, x, y)

    _assert_close(_gradients(model, x, y, cache), expected)


def test_cache_over_size_limit_falls_back(monkeypatch):
    model = _randomised_kan()
    x, y = _data()
    cache = FirstLayerCache()
    monkeypatch.setattr(fused, "DENSE_BASIS_MAX_ELEMENTS", 10)
    table = model.layers[0].fused_arguments()[0]

    assert cache.lookup(x, table) is None
    _assert_close(_gradients(model, x, y, cache), _autograd_gradients(model, x, y))
