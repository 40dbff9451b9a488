"""Entry point of KAN Explorer: register the pages and run the one the URL selects.

To add a page, append one ``st.Page`` to ``PAGES`` once the page works. Its ``help`` text
becomes the page's summary on the Home page, which links to every entry of this list.
"""

import streamlit as st
import torch

from ui.link_check import remember_link, report_ignored_values
from ui.state import NAV_PAGES

# Each request does small tensor work, and many sessions may share few cores. One intra-op
# thread avoids OpenMP threads spinning against each other: on a 2-core machine at load
# average 7, `fit_error_sweep` took 9 to 19 s with torch's default threads and 0.15 s
# with one.
torch.set_num_threads(1)

st.set_page_config(page_title="KAN Explorer", page_icon=":material/hub:", layout="wide")

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page(
        "views/bsplines.py",
        title="B-splines",
        icon=":material/ssid_chart:",
        url_path="bsplines",
        help="Basis functions, knots, coefficients and least-squares fits of one spline.",
    ),
    st.Page(
        "views/stacked.py",
        title="Stacked splines",
        icon=":material/stacked_line_chart:",
        url_path="stacked",
        help="Train a [1, 1, ..., 1] KAN live beside an MLP of equal size, and see inside every layer.",
    ),
    st.Page(
        "views/grids.py",
        title="Grids",
        icon=":material/grid_on:",
        url_path="grids",
        help="Refine a grid mid-training, adapt it to the data, learn phase by phase without forgetting, and reproduce the G^-4 scaling law.",
    ),
    st.Page(
        "views/symbolic.py",
        title="Symbolic regression",
        icon=":material/functions:",
        url_path="symbolic",
        help="Snap a trained KAN's edges to sin, x², exp and more, and read off the formula.",
    ),
]

# Home builds its links from this list, so the menu and the links always agree.
st.session_state[NAV_PAGES] = PAGES
remember_link()
st.navigation(PAGES).run()
report_ignored_values()
