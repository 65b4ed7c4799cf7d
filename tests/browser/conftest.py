"""Browser tests: Playwright driving Debian's Chromium (never `playwright install`)."""

import importlib
import importlib.util
import os
import pkgutil
import shutil

import pytest
from django.apps import apps
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def _is_browser_test(item) -> bool:
    return "tests/browser/" in str(item.fspath)


def pytest_collection_modifyitems(items):
    for item in items:
        if _is_browser_test(item):
            item.add_marker(pytest.mark.browser)
    # Browser tests last: once Playwright has started, its event loop runs in the main thread for
    # the rest of the session, and Django's test client can no longer call an async view there
    # (async_to_sync refuses a thread with a running loop).
    items.sort(key=_is_browser_test)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: bin/test installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _new_page(browser: Browser, base_url: str):
    context = browser.new_context(base_url=base_url, locale="en-US")
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server) -> Page:
    context, page = _new_page(browser, live_server.url)
    yield page
    context.close()


@pytest.fixture
def asgi_page(browser, asgi_server) -> Page:
    """A page on uvicorn (ASGI, as in production), where answers really stream."""
    context, page = _new_page(browser, asgi_server.url)
    yield page
    context.close()


@pytest.fixture
def role_groups(transactional_db) -> None:
    """Put back the role groups and their permissions, which the data migrations created and the
    live server's database flush removed: run every `grant_role_permissions` migration again."""
    for app_config in apps.get_app_configs():
        package = f"{app_config.name}.migrations"
        if importlib.util.find_spec(package) is None:
            continue
        for module_info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{module_info.name}")
            if hasattr(module, "grant_role_permissions"):
                module.grant_role_permissions(apps, None)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the real form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/")
