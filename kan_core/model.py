"""Kolmogorov-Arnold networks built from `KANLayer`s, and an MLP baseline of matching size."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from kan_core.fused import kan_stack
from kan_core.layer import KANLayer
from kan_core.limits import check_degree, check_grid_size, check_parameter_count, check_widths

__all__ = ["KAN", "MLP", "MLP_ACTIVATIONS", "mlp_parameter_count", "match_mlp_width"]


def _check_widths(widths: Sequence[int]) -> list[int]:
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output width, got {widths}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int):
            raise TypeError(f"widths must be ints, got {widths}")
        if width < 1:
            raise ValueError(f"every width must be at least 1, got {widths}")
    return widths


def _per_layer(name: str, value, n_layers: int, is_single) -> list:
    # One setting for all layers, or a list with one entry per layer.
    if is_single(value):
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(f"{name} must be one value or a list of {n_layers} values, got {values}")
    return values


def _is_range(value) -> bool:
    return len(value) == 2 and all(isinstance(v, (int, float)) for v in value)


class KAN(nn.Module):
    """A Kolmogorov-Arnold network of shape [n_0, n_1, ..., n_L].

    Parameters
    ----------
    widths : sequence of int
        Layer widths, at least two entries, each >= 1; layer l maps n_l inputs to n_{l+1}.
    grid_size : int or list of int
        Grid intervals G of every layer, or one value per layer.
    degree : int
        Spline degree k of every layer.
    grid_range : pair of float, or list of pairs
        Grid domain of every layer, or one pair per layer.
    base_activation : {"silu", None}
    trainable_scales : bool
    noise_scale : float
    dtype : torch.dtype
        float32 or float64.
    seed : int
        Seeds a private torch.Generator, so building a model never touches global RNG state and
        the same arguments always give the same initial network.
    """

    def __init__(
        self,
        widths: Sequence[int],
        grid_size: int | Sequence[int] = 5,
        degree: int = 3,
        grid_range: Sequence[float] | Sequence[Sequence[float]] = (-1.0, 1.0),
        base_activation: str | None = "silu",
        trainable_scales: bool = True,
        noise_scale: float = 0.1,
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.widths = _check_widths(widths)
        n_layers = len(self.widths) - 1
        grid_sizes = _per_layer("grid_size", grid_size, n_layers, lambda v: isinstance(v, int))
        grid_ranges = _per_layer("grid_range", grid_range, n_layers, _is_range)
        # Per-session caps, checked before any tensor is allocated.
        check_widths(self.widths)
        check_grid_size(list(grid_sizes))
        check_degree(degree)

        generator = torch.Generator().manual_seed(seed)
        self.layers = nn.ModuleList(
            KANLayer(
                self.widths[index],
                self.widths[index + 1],
                grid_size=grid_sizes[index],
                degree=degree,
                grid_range=tuple(grid_ranges[index]),
                base_activation=base_activation,
                trainable_scales=trainable_scales,
                noise_scale=noise_scale,
                dtype=dtype,
                generator=generator,
            )
            for index in range(n_layers)
        )
        self.degree = degree
        self.seed = seed

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the parameters."""
        return self.layers[0].coef.dtype

    def forward(self, x: torch.Tensor, return_intermediates: bool = False):
        """Apply every layer in turn.

        Parameters
        ----------
        x : Tensor, shape (batch, n_0)
        return_intermediates : bool
            Also return what each layer received and what each of its edges produced.

        Returns
        -------
        y : Tensor, shape (batch, n_L)
        intermediates : list of dict, only with ``return_intermediates=True``
            One dict per layer with ``inputs`` (batch, n_l) and ``edges`` (batch, n_l, n_{l+1});
            ``edges.sum(1)`` is the layer's output. Computing the edges costs about one extra
            forward pass.
        """
        if not return_intermediates:
            if not any(layer.has_symbolic_edges() for layer in self.layers):
                # One autograd node for the whole network (see kan_core.fused).
                return kan_stack(x, [layer.fused_arguments() for layer in self.layers])
            for layer in self.layers:
                x = layer(x)
            return x

        intermediates = []
        for layer in self.layers:
            edges = layer.edge_outputs(x)
            intermediates.append({"inputs": x, "edges": edges})
            x = edges.sum(dim=1)
        return x, intermediates

    def parameter_count(self) -> int:
        """Count the trainable numbers that shape the network's function.

        Each edge whose spline path is on counts its G + k coefficients plus each trainable
        scale; each symbolic edge counts its 4 affine parameters. Pruned edges count nothing.
        The a, b, c, d of edges that are not symbolic exist as parameters but are unused, so
        they are not counted.
        """
        total = 0
        for layer in self.layers:
            spline_edges = int((layer.spline_mask != 0).sum())
            per_edge = layer.n_basis
            per_edge += int(layer.scale_base.requires_grad) + int(layer.scale_spline.requires_grad)
            total += spline_edges * per_edge
            total += 4 * int((layer.symbolic_mask != 0).sum())
        return total


MLP_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU}


class MLP(nn.Sequential):
    """A fully connected network, the baseline trained beside a KAN.

    Parameters
    ----------
    widths : sequence of int
        Layer widths [n_0, ..., n_L], at least two entries.
    activation : {"tanh", "relu", "silu"}
        Applied after every linear layer except the last.
    dtype : torch.dtype
    seed : int
        Seeds the initialisation (PyTorch's default for nn.Linear) without touching global RNG
        state.
    """

    def __init__(
        self,
        widths: Sequence[int],
        activation: str = "tanh",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        widths = _check_widths(widths)
        check_parameter_count(
            sum(width_in * width_out + width_out for width_in, width_out in zip(widths, widths[1:]))
        )
        if activation not in MLP_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(MLP_ACTIVATIONS)}, got {activation!r}"
            )
        modules: list[nn.Module] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for index in range(len(widths) - 1):
                modules.append(nn.Linear(widths[index], widths[index + 1], dtype=dtype))
                if index < len(widths) - 2:
                    modules.append(MLP_ACTIVATIONS[activation]())
        super().__init__(*modules)
        self.widths = widths
        self.activation = activation

    def parameter_count(self) -> int:
        """Count the weights and biases."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def mlp_parameter_count(
    width: int, depth: int, in_features: int = 1, out_features: int = 1
) -> int:
    """Count the parameters of an MLP with ``depth`` hidden layers of ``width`` units."""
    if depth == 0:
        return in_features * out_features + out_features
    first = in_features * width + width
    middle = (depth - 1) * (width * width + width)
    last = width * out_features + out_features
    return first + middle + last


def match_mlp_width(
    target_params: int, depth: int, in_features: int = 1, out_features: int = 1
) -> int:
    """Pick the hidden width whose MLP has the parameter count closest to ``target_params``.

    Parameters
    ----------
    target_params : int
        Usually ``KAN.parameter_count()``, at least 1.
    depth : int
        Number of hidden layers, at least 1, all of the same width.
    in_features, out_features : int

    Returns
    -------
    int
        Width >= 1 whose count is closest to the target. The closest count lies within half
        a width step of the target. One step adds in + out + 1 + (depth - 1)(2 w + 2)
        parameters at width w, so the count is within 10% whenever a step is at most 20% of
        the target. Tiny targets can miss by more: a [1, 1, 1] KAN with G = 3 has 16
        parameters, and the closest depth-2 MLP (width 2) has 13.
    """
    if isinstance(target_params, bool) or not isinstance(target_params, int):
        raise TypeError(f"target_params must be an int, got {type(target_params).__name__}")
    if target_params < 1:
        raise ValueError(f"target_params must be at least 1, got {target_params}")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")

    # The count is increasing in the width, so walk up to the first width past the target.
    best_width, best_gap = 1, math.inf
    width = 1
    while True:
        count = mlp_parameter_count(width, depth, in_features, out_features)
        gap = abs(count - target_params)
        if gap < best_gap:
            best_width, best_gap = width, gap
        if count >= target_params:
            return best_width
        width += 1
