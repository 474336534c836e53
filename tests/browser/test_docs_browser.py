"""/docs and /redoc in a real headless Chromium against `appointments serve`, offline.

Every request the browser makes whose host is not 127.0.0.1 is aborted and recorded, and
the test asserts there were none. Swagger UI's Authorize dialog logs in through the OAuth2
password flow (token URL /api/auth/login), "Try it out" → "Execute" on GET /api/auth/me
answers 200 with the admin's username, and ReDoc renders the API title.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); Playwright's own browsers are never
downloaded. Without it the test is skipped, unless REQUIRE_BROWSER=1 (as in CI), where it
fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.test_booking_race import APP, _free_port, _server_env, serve_app, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
USERNAME, PASSWORD = "browser_admin", "correct-horse-battery"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium() -> str:
    problem = None
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (make install)"
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"{problem} and REQUIRE_BROWSER=1")
        pytest.skip(f"{problem}; REQUIRE_BROWSER=1 fails instead")
    return CHROMIUM


def _browser_env(tmp_path: Path) -> dict[str, str]:
    """The served-test environment, over SQLite in tmp_path."""
    env = _server_env(f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}")
    env["ENVIRONMENT"] = "test"
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """An admin made with `create-admin`, then `appointments serve` on a free loopback port
    over SQLite in tmp_path, healthy before the test; always stopped."""
    env = _browser_env(tmp_path)
    # cwd=tmp_path: no `.env` and no appointments.db from the repository are picked up.
    created = subprocess.run(
        [str(APP), "create-admin", "--username", USERNAME, "--email",
         "browser@example.com", "--full-name", "Browser Admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    process = serve_app(env, tmp_path, port, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited during startup"
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer /health within 30 s")
            time.sleep(0.1)
        yield base_url
    finally:
        stop_server(process)
        print(log_path.read_text(errors="replace")[-2000:])


async def test_swagger_ui_authorizes_and_executes_and_redoc_renders(
    chromium: str, server: str
) -> None:
    from playwright.async_api import Route, async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    blocked: list[str] = []
    seen: list[str] = []

    async def loopback_only(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            seen.append(url)
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort("blockedbyclient")

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium,
            headless=True,
            timeout=TIMEOUT_MS,
            args=["--disable-background-networking", "--disable-component-update"],
        )
        try:
            context = await browser.new_context(service_workers="block")
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            await context.route("**/*", loopback_only)
            page = await context.new_page()

            # Swagger UI: Authorize with the OAuth2 password flow.
            await page.goto(f"{server}/docs", wait_until="load")
            await page.locator(".swagger-ui .btn.authorize").first.click()
            dialog = page.locator(".dialog-ux .modal-ux")
            await expect(dialog).to_be_visible()
            await dialog.locator("#oauth_username").fill(USERNAME)
            await dialog.locator("#oauth_password").fill(PASSWORD)
            async with page.expect_response(
                lambda r: urlsplit(r.url).path == "/api/auth/login"
            ) as login:
                await dialog.locator(".auth-btn-wrapper .btn.authorize").click()
            assert (await login.value).status == 200
            await expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
            await expect(dialog.locator("button", has_text="Logout")).to_be_visible()
            await dialog.locator(".btn-done, button.close-modal").first.click()
            await expect(dialog).to_be_hidden()

            # "Try it out" → "Execute" on GET /api/auth/me.
            operation = page.locator("#operations-auth-getMe")
            await operation.locator(".opblock-summary").first.click()
            await operation.locator(".try-out__btn").click()
            async with page.expect_response(lambda r: urlsplit(r.url).path == "/api/auth/me") as me:
                await operation.locator(".btn.execute").click()
            response = await me.value
            assert response.status == 200
            assert (await response.request.all_headers())["authorization"].startswith("Bearer ")
            live = operation.locator(".live-responses-table .response")
            await expect(live.locator(".response-col_status").first).to_have_text("200")
            await expect(live.locator(".response-col_description")).to_contain_text(
                f'"username": "{USERNAME}"'
            )

            assert blocked == [], blocked  # Swagger UI asked for no other host
            assert any(urlsplit(u).path == "/docs/assets/swagger-ui-bundle.js" for u in seen)

            # ReDoc: the API title renders.
            await page.goto(f"{server}/redoc", wait_until="load")
            await expect(page.locator("h1").first).to_contain_text("Appointments")
            await expect(page.get_by_role("link", name="API docs by Redocly")).to_be_visible()
            await page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
            assert any(urlsplit(u).path == "/docs/assets/redoc.standalone.js" for u in seen)
            # ReDoc's bundle draws its "by Redocly" logo from a CDN: the page's CSP keeps it out.
            assert blocked == [], blocked
            print(f"\nnon-loopback requests aborted: {blocked}; loopback requests: {len(seen)}")
            blocked.clear()

            # Control: a request to another host is seen by the handler, and fails.
            failed = await page.evaluate(
                "fetch('http://192.0.2.1/probe').then(() => false, () => true)"
            )
            assert failed
            assert blocked == ["http://192.0.2.1/probe"], blocked
        finally:
            await browser.close()
