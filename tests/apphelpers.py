"""Playwright helpers of the browser tests (tests/test_browser.py). The application itself is
started by ``kb.localapp.running_app`` (fixture ``app_server`` of conftest.py)."""

from __future__ import annotations

PAGE_TIMEOUT = 60_000  # milliseconds

# The script run is over: no "running" indicator and no element left from the previous run.
APP_IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                     && !document.querySelector('[data-stale="true"]')"""


def wait_for_app(page) -> None:
    """(Playwright sync API) The page has drawn its title and Streamlit has finished running
    the script: no "running" indicator and no element left from the previous run (``data-stale``)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=PAGE_TIMEOUT)
    page.wait_for_function(APP_IDLE_JS, timeout=PAGE_TIMEOUT)
