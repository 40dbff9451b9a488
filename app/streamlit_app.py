"""Entry point of KAN Explorer: register the pages and run the one the URL selects.

To add a page, append one ``st.Page`` to ``PAGES`` once the page works. Its ``help`` text
becomes the page's summary on the Home page, which links to every entry of this list.
"""

import streamlit as st

from ui.state import NAV_PAGES

st.set_page_config(page_title="KAN Explorer", page_icon=":material/hub:", layout="wide")

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page(
        "views/grids.py",
        title="Grids",
        icon=":material/grid_on:",
        url_path="grids",
        help="Refine a grid mid-training, adapt it to the data, learn phase by phase without forgetting, and reproduce the G^-4 scaling law.",
    ),
]

# Home builds its links from this list, so the menu and the links always agree.
st.session_state[NAV_PAGES] = PAGES
st.navigation(PAGES).run()
