"""Home page: what KAN Explorer is, and a link to every page of the app."""

import streamlit as st

from ui.state import registered_pages

st.title("KAN Explorer")

st.markdown(
    """
A **Kolmogorov-Arnold Network (KAN)** puts the learnable functions on the edges of the network
instead of the nodes. Each edge carries its own one-dimensional function, usually a B-spline
with trainable coefficients, and each node only adds up what arrives. The idea follows the
Kolmogorov-Arnold representation theorem: every continuous function of several variables is
a sum of compositions of functions of one variable.

KAN Explorer lets you take these networks apart in the browser. Every chart reacts to the
controls next to it, and the address bar always contains the current settings, so a copied link
reopens exactly the same view.
"""
)

st.subheader("Pages")

pages = [page for page in registered_pages() if page.title != "Home"]
if not pages:
    st.info("Open the pages from the menu in the sidebar.")
for page in pages:
    st.page_link(page, label=page.title, icon=page.icon or None)
    if page.help:
        st.caption(page.help)
