"""AppTest checks of the entry file and the Home page."""

from __future__ import annotations


def test_entry_file_opens_home(open_page):
    app = open_page("views/home.py")

    assert not app.exception
    assert [title.value for title in app.title] == ["KAN Explorer"]


def test_home_links_every_other_page(open_page):
    app = open_page("views/home.py")

    links = app.get("page_link")
    linked_paths = [link.proto.page for link in links]
    other_pages = [page.url_path for page in app.session_state["nav_pages"] if page.title != "Home"]
    assert linked_paths == other_pages
    assert all(link.proto.label for link in links)


def test_every_registered_page_runs(open_page, entry_file):
    app = open_page("views/home.py")
    pages = app.session_state["nav_pages"]

    for page in pages:
        # NOTE: st.Page has no public property for its file, so this reads the private one.
        relative = page._page.relative_to(entry_file.parent).as_posix()
        app.switch_page(relative).run()
        assert not app.exception, f"{relative} raised {app.exception}"
