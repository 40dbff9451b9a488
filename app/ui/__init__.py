"""Shared user-interface code of KAN Explorer's pages.

Modules
-------
state
    Session-state key names shared by several pages and `init_state`, the one place that
    sets their first values.
controls
    Widgets that every page builds the same way (degree, grid size, grid range, target,
    noise, sample count, seed). Each one takes a page-prefixed ``key`` and is bound to the
    URL query string, so a copied link reopens the same view.
number_lists
    Lists of numbers (knots, coefficients) kept in a URL-bound text input and edited
    through a table or a row of sliders, with invalid edits rejected in one sentence.
figures
    Plotly figure builders: `figures.common` defines the shared layout, and each topic has
    its own module, such as `figures.bspline`.

Other modules hold the parts of one page that would make its file too long, such as
`bspline_sections` for the tabs of the B-splines page.

``streamlit run app/streamlit_app.py`` puts ``app/`` on ``sys.path``, so pages import this
package as ``from ui import controls``. Tests add ``app/`` to ``sys.path`` in
``tests/conftest.py``.
"""
