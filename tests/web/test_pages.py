"""The web pages with Flask's test client: permissions, sign-in, CSRF, language and the workflows."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from service.auth import PERMISSIONS, PUBLIC
from service.extensions import db
from service.models import AuditEvent, Document, User, WebSession, utcnow
from tests.helpers import MINUTES_PDF, bearer, upload
from tests.web.helpers import PASSWORD, csrf_token, page_token, sign_in

DOCUMENT_ID = "00000000-0000-0000-0000-000000000000"

PAGES = [
    ("GET", "/documents", "document:read"),
    ("GET", f"/documents/{DOCUMENT_ID}", "document:read"),
    ("GET", f"/documents/{DOCUMENT_ID}/content", "document:read"),
    ("GET", f"/documents/{DOCUMENT_ID}/report.pdf", "document:verify"),
    ("POST", f"/documents/{DOCUMENT_ID}/verification", "document:verify"),
    ("GET", "/upload", "document:create"),
    ("POST", "/upload", "document:create"),
    ("GET", f"/documents/{DOCUMENT_ID}/sign", "document:sign"),
    ("POST", f"/documents/{DOCUMENT_ID}/sign", "document:sign"),
    ("GET", "/verify", "verification:create"),
    ("POST", "/verify", "verification:create"),
]
PUBLIC_RULES = {("GET", "/"), ("GET", "/sign-in"), ("POST", "/sign-in"), ("POST", "/sign-out"),
                ("GET", "/language/<language>"), ("GET", "/static/web/fonts/<name>"),
                ("GET", "/static/web/<path:filename>")}
REFUSED = [(method, path, permission, role) for method, path, permission in PAGES
           for role in ("officer", "auditor", "service", "admin") if role not in PERMISSIONS[permission]]


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_every_web_view_declares_permission(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or rule.endpoint == "web.static":
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "permission", None) in {*PERMISSIONS, PUBLIC}, rule.rule


def test_page_table_covers_all_web_rules(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("web.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(method, path.replace(DOCUMENT_ID, "<document_id>")) for method, path, _ in PAGES}
    assert rules == listed | PUBLIC_RULES


@pytest.mark.parametrize(("method", "path", "permission"), PAGES)
def test_anonymous_sent_to_sign_in(client, method, path, permission):
    response = client.open(path, method=method)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_sign_in_returns_to_requested_page(client, web_users):
    first = client.get("/upload")
    target = first.headers["Location"]

    page = client.get(target)
    response = client.post("/sign-in", data={"username": "test-officer", "password": PASSWORD,
                                             "next": "/upload", "csrf_token": csrf_token(_text(page))})

    assert target == "/sign-in?next=/upload"
    assert "এই পাতা দেখতে লগইন করুন।" in _text(page)
    assert response.status_code == 302
    assert response.headers["Location"] == "/upload"


@pytest.mark.parametrize(("method", "path", "permission", "role"), REFUSED)
def test_wrong_role_refused(client, web_users, method, path, permission, role):
    sign_in(client, web_users[role])

    response = client.open(path, method=method, data={"csrf_token": page_token(client)})

    assert response.status_code == 403
    assert "এই কাজের অনুমতি আপনার নেই" in _text(response)
    event = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (event.action, event.details["permission"], event.details["via"]) == \
        ("authorization.denied", permission, "web")


def test_sign_in_sets_session_cookie(client, web_users):
    response = sign_in(client, "test-officer")

    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("dolil_session="))
    assert response.status_code == 302
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert db.session.execute(db.select(db.func.count()).select_from(WebSession)).scalar() == 1


def test_secure_cookie_when_configured(make_app, tokens, web_users):
    app = make_app(session_cookie_secure=True)
    client = app.test_client()

    response = sign_in(client, "test-officer")

    cookie = next(value for value in response.headers.getlist("Set-Cookie") if "dolil_session=" in value)
    assert cookie.startswith("__Host-dolil_session=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_session_token_stored_hashed(client, web_users):
    response = sign_in(client, "test-officer")
    value = re.search(r"dolil_session=([^;]+)", response.headers["Set-Cookie"]).group(1)

    row = db.session.execute(db.select(WebSession)).scalar_one()

    assert row.token_hash != value
    assert len(row.token_hash) == 64


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("test-officer", "wrong password!", "wrong_password"),
    ("nobody", PASSWORD, "unknown_user"),
])
def test_failed_sign_in_generic_and_audited(client, web_users, username, password, reason):
    response = sign_in(client, username, password)

    assert response.status_code == 401
    assert "ব্যবহারকারীর নাম অথবা পাসওয়ার্ড সঠিক নয়।" in _text(response)
    assert "dolil_session=" not in " ".join(response.headers.getlist("Set-Cookie"))
    event = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (event.action, event.outcome, event.details["reason"]) == ("authentication.failed", "failure", reason)


def test_user_without_password_cannot_sign_in(client, web_users):
    user = db.session.execute(db.select(User).where(User.username == "test-auditor")).scalar_one()
    user.password_hash = None
    db.session.commit()

    response = sign_in(client, "test-auditor", "")

    assert response.status_code == 401
    event = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert event.details["reason"] == "no_password"


def test_inactive_user_cannot_sign_in(client, web_users):
    user = db.session.execute(db.select(User).where(User.username == "test-auditor")).scalar_one()
    user.active = False
    db.session.commit()

    response = sign_in(client, "test-auditor")

    assert response.status_code == 401
    assert "ব্যবহারকারীর নাম অথবা পাসওয়ার্ড সঠিক নয়।" in _text(response)


def test_sign_in_without_csrf_token_refused(client, web_users):
    response = client.post("/sign-in", data={"username": "test-officer", "password": PASSWORD})

    assert response.status_code == 403
    assert "csrf_invalid" in _text(response)
    assert db.session.execute(db.select(db.func.count()).select_from(WebSession)).scalar() == 0


def test_upload_without_csrf_token_refused(client, web_users):
    sign_in(client, "test-officer")

    response = client.post("/upload", data={"kind": "minutes", "title": "সভার কার্যবিবরণী",
                                            "file": (io.BytesIO(MINUTES_PDF.read_bytes()), "minutes.pdf")},
                           content_type="multipart/form-data")

    assert response.status_code == 403
    assert "ফর্মের মেয়াদ শেষ" in _text(response)
    assert db.session.execute(db.select(db.func.count()).select_from(Document)).scalar() == 0


def test_csrf_token_of_other_session_refused(app, client, web_users):
    other = app.test_client()
    sign_in(other, "test-chair")
    foreign_token = page_token(other)
    sign_in(client, "test-officer")

    response = client.post(f"/documents/{DOCUMENT_ID}/sign", data={"csrf_token": foreign_token})

    assert response.status_code == 403
    assert "csrf_invalid" in _text(response)


def test_sign_out_ends_session(client, web_users):
    sign_in(client, "test-officer")
    token = page_token(client)

    response = client.post("/sign-out", data={"csrf_token": token})

    assert response.status_code == 302
    assert db.session.execute(db.select(db.func.count()).select_from(WebSession)).scalar() == 0
    assert client.get("/documents").status_code == 302
    assert "আপনি লগআউট করেছেন।" in _text(client.get(response.headers["Location"]))


def test_sign_out_without_csrf_token_refused(client, web_users):
    sign_in(client, "test-officer")

    response = client.post("/sign-out")

    assert response.status_code == 403
    assert client.get("/documents").status_code == 200


def test_idle_session_expires(client, web_users):
    sign_in(client, "test-officer")
    row = db.session.execute(db.select(WebSession)).scalar_one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()

    response = client.get("/documents")
    page = client.get(response.headers["Location"])

    assert response.status_code == 302
    assert "সেশনের মেয়াদ শেষ, আবার লগইন করুন।" in _text(page)
    assert db.session.execute(db.select(db.func.count()).select_from(WebSession)).scalar() == 0


def test_session_ends_at_absolute_limit(client, web_users):
    sign_in(client, "test-officer")
    row = db.session.execute(db.select(WebSession)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert client.get("/documents").status_code == 302


def test_sign_in_removes_ended_sessions(app, client, web_users):
    sign_in(app.test_client(), "test-chair")
    row = db.session.execute(db.select(WebSession)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    sign_in(client, "test-officer")

    users = [row.user.username for row in db.session.execute(db.select(WebSession)).scalars()]
    assert users == ["test-officer"]


def test_sign_in_redirect_stays_on_site(client, web_users):
    page = client.get("/sign-in")

    response = client.post("/sign-in", data={"username": "test-officer", "password": PASSWORD,
                                             "next": "//evil.example/", "csrf_token": csrf_token(_text(page))})

    assert response.headers["Location"] == "/documents"


# --- language -----------------------------------------------------------------


def test_pages_bengali_by_default(client, web_users):
    response = client.get("/sign-in")

    assert '<html lang="bn">' in _text(response)
    assert "দলিলে লগইন করুন" in _text(response)
    assert response.headers["Content-Language"] == "bn"


def test_accept_language_english(client, web_users):
    response = client.get("/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})

    assert '<html lang="en">' in _text(response)
    assert "Sign in to Dolil" in _text(response)


def test_language_choice_overrides_accept_language(client, web_users):
    switched = client.get("/language/bn?next=/sign-in", headers={"Accept-Language": "en"})
    response = client.get("/sign-in", headers={"Accept-Language": "en"})

    assert switched.status_code == 302
    assert switched.headers["Location"] == "/sign-in"
    assert "dolil_lang=bn" in switched.headers["Set-Cookie"]
    assert '<html lang="bn">' in _text(response)


def test_language_switch_link_in_other_language(client, web_users):
    bengali = _text(client.get("/sign-in"))
    client.get("/language/en")
    english = _text(client.get("/sign-in"))

    assert re.search(r'<a class="language-switch" lang="en"[^>]*>English</a>', bengali.replace("\n", " "))
    assert re.search(r'<a class="language-switch" lang="bn"[^>]*>বাংলা</a>', english.replace("\n", " "))


def test_language_switch_rejects_other_site(client):
    response = client.get("/language/en?next=https://evil.example/")

    assert response.headers["Location"] == "/documents"


def test_unknown_language_not_found(client):
    assert client.get("/language/fr").status_code == 404


# --- fonts and headers ----------------------------------------------------------


def test_fonts_served_locally(client):
    css = client.get("/static/web/dolil.css")
    font = client.get("/static/web/fonts/NotoSansBengali-Regular.ttf")

    assert css.status_code == 200
    assert 'url("fonts/NotoSansBengali-Regular.ttf")' in _text(css)
    assert font.status_code == 200
    assert font.mimetype == "font/ttf"
    assert client.get("/static/web/fonts/../../config.py").status_code == 404


def test_pages_load_nothing_from_elsewhere(client, web_users):
    sign_in(client, "test-officer")

    response = client.get("/upload")

    assert "http://" not in _text(response)
    assert "https://" not in _text(response)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


# --- workflows ------------------------------------------------------------------


def _upload_form(client, **fields):
    form = {"csrf_token": page_token(client, "/upload"), "kind": "minutes", "title": "সভার কার্যবিবরণী",
            "upload_key": "k1", "file": (io.BytesIO(MINUTES_PDF.read_bytes()), "minutes.pdf")}
    form.update(fields)
    return client.post("/upload", data=form, content_type="multipart/form-data")


def test_upload_page_stores_document(client, web_users):
    sign_in(client, "test-officer")

    response = _upload_form(client, memo_number="৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮", meeting_date="২০/০৯/২০২১")
    page = client.get(response.headers["Location"])

    document = db.session.execute(db.select(Document)).scalar_one()
    assert response.status_code == 302
    assert document.memo_number == "56.03.0000.003.05.007.21.158"
    assert "দলিলটি আপলোড ও সংরক্ষণ করা হয়েছে।" in _text(page)
    assert "৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮" in _text(page)
    assert "২০/০৯/২০২১" in _text(page)
    assert "স্বাক্ষর নেই" in _text(page)


def test_upload_page_states_size_limit(client, web_users):
    sign_in(client, "test-officer")

    bengali = _text(client.get("/upload"))
    client.get("/language/en")
    english = _text(client.get("/upload"))

    # The test application's limit, in its largest whole unit.
    assert "সর্বোচ্চ ৪ মেগাবাইট" in bengali
    assert "At most 4 MiB" in english


def test_upload_page_names_the_chair(client, web_users):
    sign_in(client, "test-officer")

    response = _upload_form(client, chair="test-chair")

    document = db.session.execute(db.select(Document)).scalar_one()
    assert response.status_code == 302
    holders = {assignment.role: assignment.user.username for assignment in document.signer_assignments}
    assert holders == {"member_secretary": "test-officer", "chair": "test-chair"}


def test_upload_page_unknown_chair_stores_nothing(client, web_users):
    sign_in(client, "test-officer")

    response = _upload_form(client, chair="nobody")

    assert response.status_code == 422
    assert "signer_user_not_found" in _text(response)
    assert 'value="nobody"' in _text(response)
    assert db.session.execute(db.select(db.func.count()).select_from(Document)).scalar() == 0


def test_upload_page_resent_form_stores_once(client, web_users):
    sign_in(client, "test-officer")

    first = _upload_form(client, upload_key="same-form")
    second = _upload_form(client, upload_key="same-form")

    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.execute(db.select(db.func.count()).select_from(Document)).scalar() == 1


@pytest.mark.parametrize(("language", "title"), [("bn", "তথ্য সঠিক নয়"), ("en", "Invalid field")])
def test_upload_page_shows_problem(client, web_users, language, title):
    sign_in(client, "test-officer")
    client.get(f"/language/{language}")

    response = _upload_form(client, memo_number="12-34")

    assert response.status_code == 422
    assert title in _text(response)
    assert "field_invalid" in _text(response)
    assert 'value="12-34"' in _text(response)
    assert db.session.execute(db.select(db.func.count()).select_from(Document)).scalar() == 0
    event = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (event.action, event.outcome, event.details["code"]) == ("document.upload", "refused", "field_invalid")


def test_upload_page_rejects_non_pdf(client, web_users):
    sign_in(client, "test-officer")

    response = _upload_form(client, file=(io.BytesIO(b"PK\x03\x04 not a pdf"), "minutes.docx"))

    assert response.status_code == 415
    assert "ফাইলের ধরন সমর্থিত নয়" in _text(response)


def test_document_list_filters(client, tokens, web_users):
    upload(client, tokens["officer"], MINUTES_PDF, memo_number="56.03.0000.003.05.007.21.158")
    upload(client, tokens["officer"], MINUTES_PDF, kind="evidence", title="বিবরণী")
    sign_in(client, "test-auditor")

    everything = _text(client.get("/documents"))
    evidence = _text(client.get("/documents?kind=evidence"))
    by_memo = _text(client.get("/documents?memo_number=৫৬.০৩.০০০০.০০৩"))

    assert everything.count('href="/documents/') == 2
    assert evidence.count('href="/documents/') == 1
    assert "বিবরণী" in evidence
    assert by_memo.count('href="/documents/') == 1
    assert "৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮" in by_memo


def test_document_list_pages(client, tokens, web_users):
    for number in range(21):
        upload(client, tokens["officer"], MINUTES_PDF, title=f"কার্যবিবরণী {number}")
    sign_in(client, "test-auditor")

    first = _text(client.get("/documents"))
    cursor = re.search(r'rel="next" href="/documents\?cursor=([^"]+)"', first).group(1)
    second = _text(client.get(f"/documents?cursor={cursor}"))

    assert first.count('href="/documents/') == 20
    assert second.count('href="/documents/') == 1
    assert "কার্যবিবরণী 0" in second
    assert 'rel="next"' not in second


def test_document_list_bad_filter(client, web_users):
    sign_in(client, "test-auditor")

    response = client.get("/documents?memo_number=abc")

    assert response.status_code == 422
    assert "তথ্য সঠিক নয়" in _text(response)


def test_unknown_document_page(client, web_users):
    sign_in(client, "test-auditor")

    response = client.get(f"/documents/{DOCUMENT_ID}")

    assert response.status_code == 404
    assert "দলিল পাওয়া যায়নি" in _text(response)


def test_sign_page_certifies_and_shows_verdict(client, web_users):
    sign_in(client, "test-officer")
    location = _upload_form(client).headers["Location"]
    document_id = location.split("/")[2].split("?")[0]

    form = _text(client.get(f"/documents/{document_id}/sign"))
    response = client.post(f"/documents/{document_id}/sign",
                           data={"csrf_token": csrf_token(form), "stamp": "1", "reason": "কার্যবিবরণী অনুমোদন"})
    page = _text(client.get(response.headers["Location"]))

    assert 'name="stamp" value="1" checked' in form
    assert "সদস্য সচিব" in form
    assert response.status_code == 302
    assert "দলিলে স্বাক্ষর করা হয়েছে এবং নতুন সংস্করণ সংরক্ষিত হয়েছে।" in page
    assert '<span class="verdict verdict-total_passed">বৈধ</span>' in page
    document = db.session.get(Document, document_id)
    assert [signature.role for signature in document.signatures] == ["member_secretary"]


def test_sign_page_says_when_already_signed(client, web_users):
    sign_in(client, "test-officer")
    document_id = _upload_form(client).headers["Location"].split("/")[2].split("?")[0]
    token = page_token(client)
    client.post(f"/documents/{document_id}/sign", data={"csrf_token": token})

    page = client.get(f"/documents/{document_id}/sign")
    again = client.post(f"/documents/{document_id}/sign", data={"csrf_token": token})

    # The page states the reason once, not as a title followed by a detail that repeats it.
    assert "আপনি এই দলিলে আগেই স্বাক্ষর করেছেন" in _text(page)
    assert _text(page).count("আগেই স্বাক্ষর করেছেন") == 1
    assert 'action="/documents/' + document_id + '/sign"' not in _text(page)
    assert again.status_code == 409


def test_document_page_offers_signing_only_in_turn(client, web_users):
    sign_in(client, "test-officer")
    document_id = _upload_form(client, chair="test-chair").headers["Location"].split("/")[2].split("?")[0]
    sign_link = f'href="/documents/{document_id}/sign"'
    chair = client.application.test_client()
    sign_in(chair, "test-chair")

    secretary_before = _text(client.get(f"/documents/{document_id}"))
    chair_before = _text(chair.get(f"/documents/{document_id}"))
    client.post(f"/documents/{document_id}/sign", data={"csrf_token": page_token(client)})
    secretary_after = _text(client.get(f"/documents/{document_id}"))
    chair_after = _text(chair.get(f"/documents/{document_id}"))

    assert sign_link in secretary_before
    assert sign_link not in chair_before
    assert sign_link not in secretary_after
    assert sign_link in chair_after


def test_sign_page_asks_passphrase_not_kept(app, client, web_users, dev_pki):
    from service.models import SigningCredential

    credential = db.session.execute(db.select(SigningCredential).join(User)
                                    .where(User.username == "test-officer")).scalar_one()
    credential.secret_file = None
    db.session.commit()
    passphrase = dev_pki.officer_passphrase_path.read_text().strip()
    sign_in(client, "test-officer")
    document_id = _upload_form(client).headers["Location"].split("/")[2].split("?")[0]

    form = _text(client.get(f"/documents/{document_id}/sign"))
    missing = client.post(f"/documents/{document_id}/sign", data={"csrf_token": csrf_token(form)})
    wrong = client.post(f"/documents/{document_id}/sign",
                        data={"csrf_token": csrf_token(form), "passphrase": "not the passphrase"})
    signed = client.post(f"/documents/{document_id}/sign",
                         data={"csrf_token": csrf_token(form), "passphrase": passphrase})

    assert 'name="passphrase" type="password"' in form
    assert (missing.status_code, wrong.status_code, signed.status_code) == (422, 422, 302)
    assert "passphrase_required" in _text(missing)
    assert "পাসওয়ার্ড সঠিক নয়" in _text(wrong)
    assert 'name="passphrase" type="password" autocomplete="off" required' in _text(wrong)
    assert "not the passphrase" not in _text(wrong)
    assert credential.secret_file is None


def test_api_pin_unlocks_pkcs12_without_secret_file(client, tokens, dev_pki):
    from service.models import SigningCredential

    credential = db.session.execute(db.select(SigningCredential)).scalar_one()
    credential.secret_file = None
    db.session.commit()
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    passphrase = dev_pki.officer_passphrase_path.read_text().strip()

    refused = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]), json={})
    signed = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                         json={"pin": passphrase})

    assert refused.status_code == 422
    assert refused.get_json()["code"] == "passphrase_required"
    assert signed.status_code == 201


def test_download_is_verified(client, web_users):
    sign_in(client, "test-officer")
    document_id = _upload_form(client).headers["Location"].split("/")[2].split("?")[0]
    sign_in(client, "test-auditor")

    response = client.get(f"/documents/{document_id}/content")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    assert response.headers["Dolil-Fixity"] == "passed"
    assert response.data == MINUTES_PDF.read_bytes()


def test_report_pdf_and_verify_again(client, web_users):
    sign_in(client, "test-officer")
    document_id = _upload_form(client).headers["Location"].split("/")[2].split("?")[0]
    sign_in(client, "test-auditor")

    report = client.get(f"/documents/{document_id}/report.pdf")
    again = client.post(f"/documents/{document_id}/verification", data={"csrf_token": page_token(client)})

    assert report.status_code == 200
    assert report.data.startswith(b"%PDF-")
    assert again.status_code == 302
    assert again.headers["Location"] == f"/documents/{document_id}#verification"


def test_verify_page_reports_any_pdf(client, tokens, web_users):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]), json={})
    signed = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"])).data
    sign_in(client, "test-auditor")
    token = page_token(client, "/verify")

    response = client.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(signed), "signed.pdf")},
                           content_type="multipart/form-data")
    as_pdf = client.post("/verify", data={"csrf_token": token, "format": "pdf",
                                          "file": (io.BytesIO(signed), "signed.pdf")},
                         content_type="multipart/form-data")

    assert response.status_code == 200
    assert '<span class="verdict verdict-total_passed">বৈধ</span>' in _text(response)
    assert "signed.pdf" in _text(response)
    assert as_pdf.mimetype == "application/pdf"


def test_verify_page_rejects_non_pdf(client, web_users):
    sign_in(client, "test-auditor")

    response = client.post("/verify", data={"csrf_token": page_token(client, "/verify"),
                                            "file": (io.BytesIO(b"GIF89a"), "x.gif")},
                           content_type="multipart/form-data")

    assert response.status_code == 415
    assert "ফাইলের ধরন সমর্থিত নয়" in _text(response)


# --- administration -------------------------------------------------------------


def test_set_password_command(app, client, web_users):
    sign_in(client, "test-officer")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["users", "set-password", "test-officer"],
                           input="a new long password\na new long password\n")

    user = db.session.execute(db.select(User).where(User.username == "test-officer")).scalar_one()
    assert result.exit_code == 0, result.output
    assert "a new long password" not in result.output
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/documents").status_code == 302
    assert sign_in(client, "test-officer", "a new long password").status_code == 302
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "user.password_set")).scalar_one()
    assert event.details["sessions_ended"] == 1


def test_set_password_rejects_short(app, web_users):
    result = app.test_cli_runner().invoke(args=["users", "set-password", "test-officer"], input="short\nshort\n")

    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
