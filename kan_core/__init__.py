"""KAN Explorer's engine: B-splines, Kolmogorov-Arnold Networks and their training in PyTorch.

The package never imports streamlit. Import the modules directly, for example
``from kan_core.bspline import bspline_basis``.
"""

__version__ = "0.1.0"
