"""Plotly figure builders, one module per topic, sharing the layout in `common`.

Builders take plain arrays (NumPy or lists) from ``kan_core`` results and return a
``plotly.graph_objects.Figure``; they compute nothing beyond placing what they are given.
"""
