"""Grids page: refine a grid mid-training, adapt it to the data, learn continually, scale.

Four tabs, each drawn only while it is open, because bound tabs report which one is
selected. Long runs advance in slices inside a fragment, so the page handles clicks, Stop
included, while they run. A run pauses while its tab is closed and resumes when the reader
opens the tab again. Each section lives in its own module under ``grids_sections``.
"""

import streamlit as st

from ui import controls
from views.grids_sections.adaptive import adaptive_section
from views.grids_sections.capacity import capacity_section
from views.grids_sections.continual import continual_section
from views.grids_sections.scaling import scaling_section

SECTIONS = ["Capacity schedule", "Adaptive grids", "Continual learning", "Scaling law"]

st.title("Grids")
st.markdown(
    "A KAN keeps its capacity in its spline grids. A finer grid adds parameters without "
    "forgetting what the coarse one learned, a grid can follow the data it receives, and "
    "each spline coefficient touches only a few intervals, so learning one input region "
    "leaves the others alone. The last tab reproduces the KAN paper's grid-extension "
    "result: test error falling like G⁻⁴."
)

capacity_tab, adaptive_tab, continual_tab, scaling_tab = st.tabs(
    SECTIONS, key="gr_section", bind=controls.BIND
)
if capacity_tab.open:
    with capacity_tab:
        capacity_section()
if adaptive_tab.open:
    with adaptive_tab:
        adaptive_section()
if continual_tab.open:
    with continual_tab:
        continual_section()
if scaling_tab.open:
    with scaling_tab:
        scaling_section()
