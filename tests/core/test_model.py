"""KAN and MLP construction, forward passes, parameter counts and MLP size matching."""

import pytest
import torch

from torch.func import functional_call

from kan_core.fused import mse_with_gradients
from kan_core.model import KAN, MLP, match_mlp_width, mlp_parameter_count


def test_kan_forward_composes_layers():
    model = KAN([2, 4, 3, 1], grid_size=[5, 7, 3], dtype=torch.float64, seed=1)
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1

    expected = x
    for layer in model.layers:
        expected = layer(expected)

    assert torch.equal(model(x), expected)


def test_intermediates_chain_edges_to_inputs():
    model = KAN([2, 3, 1], dtype=torch.float64, seed=2)
    x = torch.rand(25, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1

    y, intermediates = model(x, return_intermediates=True)

    assert len(intermediates) == 2
    assert torch.equal(intermediates[0]["inputs"], x)
    assert intermediates[0]["edges"].shape == (25, 2, 3)
    assert intermediates[1]["edges"].shape == (25, 3, 1)
    hidden = intermediates[0]["edges"].sum(1)
    assert (intermediates[1]["inputs"] - hidden).abs().max().item() <= 1e-12
    assert (y - model(x)).abs().max().item() <= 1e-12


def test_same_seed_same_model():
    first = KAN([2, 5, 1], seed=3)
    second = KAN([2, 5, 1], seed=3)
    other = KAN([2, 5, 1], seed=4)

    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(first.layers[0].coef, other.layers[0].coef)


def test_seed_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)

    KAN([1, 2, 1], seed=0)

    assert torch.equal(torch.rand(3), expected)


def test_per_layer_grid_settings():
    model = KAN([1, 2, 1], grid_size=[4, 9], grid_range=[(-2.0, 2.0), (-1.0, 3.0)])

    assert [layer.grid_size for layer in model.layers] == [4, 9]
    assert model.layers[0].grid[0, 0].item() == -2.0
    assert model.layers[1].grid[0, -1].item() == 3.0


def test_per_layer_list_of_wrong_length_raises():
    with pytest.raises(ValueError, match="grid_size must be one value or a list of 2 values"):
        KAN([1, 2, 1], grid_size=[4, 5, 6])


@pytest.mark.parametrize(
    ("widths", "error", "message"),
    [
        ([3], ValueError, "at least an input and an output width"),
        ([1, 0, 1], ValueError, "every width must be at least 1"),
        ([1, 2.0, 1], TypeError, "widths must be ints"),
    ],
)
def test_invalid_widths_raise(widths, error, message):
    with pytest.raises(error, match=message):
        KAN(widths)


def test_float64_model_has_float64_parameters():
    model = KAN([2, 2, 1], dtype=torch.float64)

    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert model(torch.zeros(4, 2, dtype=torch.float64)).dtype == torch.float64


def test_kan_parameter_count_formula():
    model = KAN([2, 5, 1], grid_size=[5, 10], degree=3)

    # Each edge has G + k coefficients and two trainable scales.
    expected = 2 * 5 * (5 + 3 + 2) + 5 * 1 * (10 + 3 + 2)
    assert model.parameter_count() == expected


def test_parameter_count_follows_masks_and_frozen_scales():
    model = KAN([2, 3, 1], grid_size=5, trainable_scales=False)
    layer = model.layers[0]

    with torch.no_grad():
        layer.spline_mask[0, 0] = 0.0  # pruned edge
        layer.spline_mask[1, 2] = 0.0
        layer.symbolic_mask[1, 2] = 1.0  # switched to a formula

    assert model.parameter_count() == (6 - 2) * 8 + 4 + 3 * 8


def test_mlp_parameter_count_matches_torch():
    for widths in ([1, 6, 1], [2, 7, 7, 1], [3, 4, 2]):
        mlp = MLP(widths)
        total = sum(p.numel() for p in mlp.parameters())
        depth = len(widths) - 2

        assert mlp.parameter_count() == total
        if len(set(widths[1:-1])) == 1:
            assert mlp_parameter_count(widths[1], depth, widths[0], widths[-1]) == total


def test_mlp_is_seeded():
    assert torch.equal(MLP([1, 8, 1], seed=5)[0].weight, MLP([1, 8, 1], seed=5)[0].weight)
    assert not torch.equal(MLP([1, 8, 1], seed=5)[0].weight, MLP([1, 8, 1], seed=6)[0].weight)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([1, 4, 1], activation="gelu")


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("widths", [[1, 1, 1], [2, 5, 1], [1, 1, 1, 1], [4, 4, 4, 1]])
@pytest.mark.parametrize("grid_size", [5, 10, 20, 50])
def test_match_mlp_width_within_ten_percent(depth, widths, grid_size):
    target = KAN(widths, grid_size=grid_size).parameter_count()
    width = match_mlp_width(target, depth, widths[0], widths[-1])
    count = mlp_parameter_count(width, depth, widths[0], widths[-1])

    # The closest count lies within half a width step of the target, so the 10% promise applies
    # whenever one step is at most 20% of the target.
    step = mlp_parameter_count(width + 1, depth, widths[0], widths[-1]) - count
    if step <= 0.2 * target:
        assert abs(count - target) <= 0.1 * target, (target, width, count)
    closest = min(
        abs(mlp_parameter_count(w, depth, widths[0], widths[-1]) - target) for w in range(1, 400)
    )
    assert abs(count - target) == closest


def test_match_mlp_width_tiny_target_is_closest():
    # A [1, 1, 1] KAN with G = 3 has 16 parameters; depth-2 MLPs have 13 (width 2) or 22.
    target = KAN([1, 1, 1], grid_size=3).parameter_count()

    assert target == 16
    assert match_mlp_width(target, 2) == 2


def test_match_mlp_width_rejects_zero_target():
    with pytest.raises(ValueError, match="target_params must be at least 1, got 0"):
        match_mlp_width(0, 1)


def _randomised_kan() -> KAN:
    model = KAN([2, 3, 2], grid_size=[5, 7], dtype=torch.float64, seed=3)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for layer in model.layers:
            layer.coef.normal_(generator=generator)
            layer.scale_spline.uniform_(0.5, 1.5, generator=generator)
            layer.scale_base.normal_(generator=generator)
        model.layers[0].spline_mask[1, 2] = 0.0
    return model


def test_fused_stack_gradcheck():
    model = _randomised_kan()
    names = [name for name, p in model.named_parameters() if "symbolic" not in name]
    values = tuple(model.get_parameter(name).detach().clone().requires_grad_() for name in names)
    generator = torch.Generator().manual_seed(5)
    x = (torch.rand(6, 2, generator=generator, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()

    def evaluate(points, *params):
        return functional_call(model, dict(zip(names, params)), (points,))

    assert torch.autograd.gradcheck(evaluate, (x, *values))


def test_fast_gradients_match_autograd():
    model = _randomised_kan()
    generator = torch.Generator().manual_seed(6)
    x = torch.rand(80, 2, generator=generator, dtype=torch.float64) * 2.4 - 1.2
    y = torch.rand(80, 2, generator=generator, dtype=torch.float64)

    # Reference: the per-layer path through autograd (no fused stack, no manual backward).
    hidden = x
    for layer in model.layers:
        hidden = layer.edge_outputs(hidden).sum(1)
    torch.nn.functional.mse_loss(hidden, y).backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)

    loss = mse_with_gradients(x, y, [layer.fused_arguments() for layer in model.layers])

    assert loss.item() == pytest.approx(torch.nn.functional.mse_loss(hidden, y).item(), rel=1e-12)
    assert set(expected) == {name for name, p in model.named_parameters() if p.grad is not None}
    for name, grad in expected.items():
        error = (model.get_parameter(name).grad - grad).abs().max().item()
        assert error <= 1e-12, name


def test_model_over_session_caps_raises():
    from kan_core.limits import LIMITS

    with pytest.raises(ValueError, match="at most"):
        KAN([1] * (LIMITS.max_depth + 2))
    with pytest.raises(ValueError, match=r"widths\[1\] must be at most"):
        KAN([1, LIMITS.max_width + 1, 1])
    with pytest.raises(ValueError, match="grid_size must be at most"):
        KAN([1, 1], grid_size=LIMITS.max_grid_size + 1)
    with pytest.raises(ValueError, match="The parameter count must be at most"):
        MLP([1, 1000, 1000, 1])
