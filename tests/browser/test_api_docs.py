"""/api/docs in Chromium with every request to another host refused: Swagger UI shows the API
from this server alone, under the Content-Security-Policy of HTML pages (docs/api.md section 7)."""

import pytest
from playwright.sync_api import Route, expect

from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def test_api_docs_renders_without_the_internet(open_page, server):
    page = open_page()
    foreign: list[str] = []
    refused: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_this_server)
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/api/docs")
    expect(page.get_by_text("IM API").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/register")).to_be_visible()
    assert page.locator(".opblock").count() >= 35
    assert foreign == [] and refused == [] and page.recorder.errors == []
