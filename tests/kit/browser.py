"""The dashboard in a real browser (Playwright), as an operator uses it."""

from __future__ import annotations

from playwright.sync_api import Page


def log_in(page: Page, url: str, who: tuple[str, str] | None) -> None:
    """Through the login form, as an operator does, and back to the dashboard."""
    assert who is not None
    page.goto(f"{url}/dashboard/")
    page.fill("#name", who[0])
    page.fill("#password", who[1])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_url(f"{url}/dashboard/")
