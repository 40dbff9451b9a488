"""Sections of the Grids page, one module per tab, and the sliced-job runner they share."""
