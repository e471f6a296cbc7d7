"""The web pages in a real browser: Debian's Chromium driven by Playwright.

The application runs on 127.0.0.1 with the test fixtures' SeaweedFS, database
and development PKI. The browser may load nothing but that server. Without
Chromium at /usr/bin/chromium the tests are skipped, unless
DOLIL_TEST_REQUIRE_TOOLS=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import MINUTES_PDF, skip_unless_required
from tests.web.helpers import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Milliseconds that one browser step (a navigation, a click, a wait) may take.
STEP_TIMEOUT_MS = 30_000
TITLE = "ই-গভর্ন্যান্স ও উদ্ভাবন কর্মপরিকল্পনার অগ্রগতি পর্যালোচনা সভার কার্যবিবরণী"
MEMO = "৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮"
# Set to a directory to keep the screenshot of the document page.
SCREENSHOT_DIR_VARIABLE = "DOLIL_TEST_SCREENSHOT_DIR"


@pytest.fixture
def live_server(app, web_users) -> Iterator[str]:
    """The application served on 127.0.0.1 by Werkzeug in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        skip_unless_required(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser, live_server):
    """Open a page in a new browser context with Bengali as the browser's language.

    Requests to anything but the live server are aborted and listed in
    ``page.outside_requests``.
    """
    contexts = []

    def factory(locale: str = "bn-BD"):
        context = browser.new_context(locale=locale, base_url=live_server)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.outside_requests = []
        allowed = urlsplit(live_server).netloc

        def route(route):
            if urlsplit(route.request.url).netloc == allowed:
                route.continue_()
            else:
                page.outside_requests.append(route.request.url)
                route.abort()

        page.route("**/*", route)
        return page

    yield factory
    for context in contexts:
        context.close()


def _sign_in(page, username: str) -> None:
    page.goto("/documents")
    page.get_by_label("ব্যবহারকারীর নাম").fill(username)
    page.get_by_label("পাসওয়ার্ড").fill(PASSWORD)
    page.get_by_label("পাসওয়ার্ড").press("Enter")
    page.wait_for_url("**/documents")


def _texts(page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def _document_page_texts(page) -> dict[str, object]:
    return {
        "lang": page.locator("html").get_attribute("lang"),
        "h1": page.locator("h1").inner_text(),
        "h2": _texts(page, "main h2"),
        "details": _texts(page, "section[aria-labelledby=details] dt"),
        "memo": page.locator("dd.memo").inner_text(),
        "roles": _texts(page, "section[aria-labelledby=signing-state] tbody th"),
        "verdicts": _texts(page, "section[aria-labelledby=signatures] .verdict"),
        "nav": _texts(page, "nav.main-nav a"),
    }


def test_officer_uploads_certifies_and_reads_verdict(open_page, tmp_path):
    page = open_page()
    _sign_in(page, "test-officer")

    # Upload the sample minutes through the upload page.
    page.get_by_role("link", name="দলিল আপলোড").click()
    page.get_by_label("কার্যবিবরণী").check()
    page.get_by_label("বিষয়").fill(TITLE)
    page.get_by_label("স্মারক নম্বর").fill(MEMO)
    page.get_by_label("সভার তারিখ").fill("২০/০৯/২০২১")
    page.get_by_label("ফাইল").set_input_files(str(MINUTES_PDF))
    page.get_by_role("button", name="আপলোড করুন").click()
    page.wait_for_url("**/documents/*?done=uploaded")
    assert page.get_by_role("status").inner_text() == "দলিলটি আপলোড ও সংরক্ষণ করা হয়েছে।"

    # Certify them as member secretary, with the stamp that is on by default.
    page.locator("section[aria-labelledby=signing-state]").get_by_role("link", name="স্বাক্ষর করুন").click()
    assert page.locator("strong.role").inner_text() == "সদস্য সচিব"
    assert page.get_by_label("দৃশ্যমান স্ট্যাম্প সহ স্বাক্ষর (নাম, পদবি, দপ্তর ও তারিখ)").is_checked()
    page.get_by_label("স্বাক্ষরের কারণ").fill("কার্যবিবরণী অনুমোদন")
    page.get_by_role("button", name="স্বাক্ষর করুন").click()
    page.wait_for_url("**/documents/*?done=signed")

    bengali = _document_page_texts(page)
    assert bengali == {
        "lang": "bn",
        "h1": TITLE,
        "h2": ["দলিলের বিবরণ", "স্বাক্ষরের অবস্থা", "স্বাক্ষরসমূহ", "সংস্করণসমূহ", "স্বাক্ষর যাচাই প্রতিবেদন"],
        "details": ["ধরন", "স্মারক নম্বর", "দলিলের তারিখ", "সভার তারিখ", "আপলোডকারী", "আইনগত সংরক্ষণাদেশ",
                    "বর্তমান সংস্করণ", "SHA-256 হ্যাশ মান", "দলিলের আইডি"],
        "memo": MEMO,
        "roles": ["সদস্য সচিব", "সভাপতি পরবর্তী স্বাক্ষর"],
        "verdicts": ["বৈধ"],
        "nav": ["দলিলের তালিকা", "দলিল আপলোড"],
    }
    assert page.locator("section[aria-labelledby=verification] .verdict").first.inner_text() == "বৈধ"
    assert page.locator("dd", has_text="২০/০৯/২০২১").count() == 1

    # The bundled Bengali font is what renders the page.
    loaded = page.evaluate("document.fonts.ready.then(() => [...document.fonts]"
                           ".filter(font => font.status === 'loaded').map(font => font.family))")
    assert any("Noto Sans Bengali" in family for family in loaded)
    screenshot = tmp_path / "document-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    if os.environ.get(SCREENSHOT_DIR_VARIABLE):
        shutil.copy(screenshot, Path(os.environ[SCREENSHOT_DIR_VARIABLE]) / screenshot.name)

    # Switch to English and back: the Bengali page reads exactly as before.
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    english = _document_page_texts(page)
    assert english["lang"] == "en"
    assert english["h2"] == ["Document details", "Signing state", "Signatures", "Revisions",
                             "Signature validation report"]
    assert english["verdicts"] == ["Valid"]
    assert english["memo"] == "56.03.0000.003.05.007.21.158"
    page.get_by_role("link", name="বাংলা").click()
    page.wait_for_load_state()
    assert _document_page_texts(page) == bengali
    assert page.outside_requests == []


@pytest.fixture
def certified_minutes(client, tokens, web_users) -> str:
    """The sample minutes, certified by the member secretary through the API; returns the document id.

    Requested before the browser, because Playwright's event loop then runs in
    this thread and signing runs one of its own.
    """
    from tests.helpers import bearer, upload

    document_id = upload(client, tokens["officer"], MINUTES_PDF, title=TITLE).get_json()["id"]
    certified = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                            json={"visible": True})
    assert certified.status_code == 201, certified.get_json()
    return document_id


@pytest.fixture
def signed_pdf(client, tokens, certified_minutes) -> bytes:
    """The certified minutes' PDF, as an auditor downloads it from the API."""
    from tests.helpers import bearer

    return client.get(f"/api/v1/documents/{certified_minutes}/content", headers=bearer(tokens["auditor"])).data


def test_chair_cosigns_to_complete(certified_minutes, open_page):
    page = open_page()
    _sign_in(page, "test-chair")

    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("link", name="স্বাক্ষর করুন").click()
    assert page.locator("strong.role").inner_text() == "সভাপতি"
    page.get_by_role("button", name="স্বাক্ষর করুন").click()
    page.wait_for_url("**/documents/*?done=signed")

    state = page.locator("section[aria-labelledby=signing-state]")
    assert state.locator("p.state .verdict").inner_text() == "সব স্বাক্ষর সম্পন্ন ও বৈধ"
    assert _texts(page, "section[aria-labelledby=signatures] .verdict") == ["বৈধ", "বৈধ"]
    assert _texts(page, "section[aria-labelledby=signatures] tbody td:first-child") == ["সদস্য সচিব", "সভাপতি"]
    assert page.outside_requests == []


def test_auditor_verifies_pdf_with_keyboard(signed_pdf, open_page):
    page = open_page()

    # Sign in with the keyboard alone: the user name field has the focus on load.
    page.goto("/sign-in")
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("test-auditor")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/documents")

    # The first Tab reaches the skip link, which leads past the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "মূল বিষয়ে যান"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.get_by_role("link", name="PDF যাচাই").click()
    page.get_by_label("ফাইল (PDF)").set_input_files(files=[{"name": "signed.pdf", "mimeType": "application/pdf",
                                                            "buffer": signed_pdf}])
    page.get_by_role("button", name="যাচাই করুন").click()
    page.wait_for_load_state()

    assert page.locator("#result").inner_text() == "স্বাক্ষর যাচাই প্রতিবেদন"
    assert page.locator(".report .verdict").first.inner_text() == "বৈধ"
    assert page.outside_requests == []


def test_upload_problem_in_page_language(open_page):
    page = open_page(locale="en-GB")
    page.goto("/language/bn")
    _sign_in(page, "test-officer")

    page.get_by_role("link", name="দলিল আপলোড").click()
    page.get_by_label("বিষয়").fill(TITLE)
    page.get_by_label("স্মারক নম্বর").fill("১২৩")
    page.get_by_label("ফাইল").set_input_files(str(MINUTES_PDF))
    page.get_by_role("button", name="আপলোড করুন").click()

    alert = page.get_by_role("alert")
    assert alert.locator("h2").inner_text() == "তথ্য সঠিক নয়"
    assert alert.locator("p").first.inner_text().startswith("'স্মারক নম্বর'-এর মান সঠিক নয়:")
    assert page.get_by_label("স্মারক নম্বর").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("বিষয়").input_value() == TITLE
