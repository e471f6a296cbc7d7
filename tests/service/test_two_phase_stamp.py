"""Two-phase signatures with visible Bengali stamps, signed on the SoftHSM2 token by tools/dolil_sign.py.

The service draws the stamp when it prepares the signature. The key on the
token then signs attributes whose document digest covers the stamp, so the
completed signature shows it. The stamp text is read back with pdftotext and
the page is rendered with pdftoppm (Debian package poppler-utils).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from PIL import ImageChops
from pyhanko.pdf_utils.reader import PdfFileReader

from service.auth import issue_token
from service.bengali import format_dual_date_bn
from service.extensions import db
from service.models import Document, PendingSignature, User
from tests.fixtures.softhsm import OFFICER_NAME
from tests.helpers import MINUTES_PDF, bearer, bound_credential, upload
from tests.signing.test_stamp import extract_text, needs_poppler, page_height, render
from tools import dolil_sign

CLIENT = Path(__file__).resolve().parents[2] / "tools" / "dolil_sign.py"
LAST_PAGE = 2
SECRETARY = ("মোহাম্মদ আব্দুল্লাহ আল মামুন", "উপ-নিয়ন্ত্রক (সাইবার অপরাধ ও নিরাপত্তা)", "সিসিএ কার্যালয়")
CHAIR = ("আবুল কালাম আজাদ", "নিয়ন্ত্রক", "সিসিএ কার্যালয়")


def _date_line() -> str:
    from service.archive import BANGLADESH_TIME

    return format_dual_date_bn(datetime.now(BANGLADESH_TIME).date())


def _user(username: str, lines: tuple[str, str, str]) -> User:
    name, designation, office = lines
    user = User(username=username, role="officer", display_name=name, designation=designation, office=office)
    db.session.add(user)
    return user


def _token_holder(app, username: str, lines: tuple[str, str, str], softhsm_token, tmp_path) -> str:
    """An officer whose key is the SoftHSM2 token's, with the certificate registered by the CLI."""
    _user(username, lines)
    token = issue_token(db.session.execute(db.select(User).filter_by(username=username)).scalar_one())
    db.session.commit()
    certificate_path = tmp_path / f"{username}.pem"
    certificate_path.write_bytes(softhsm_token.officer.certificate.public_bytes(serialization.Encoding.PEM))
    result = app.test_cli_runner().invoke(args=["credentials", "add-external", username,
                                                "--certificate", str(certificate_path),
                                                "--confirm-holder", OFFICER_NAME])
    assert result.exit_code == 0, result.output
    return token


def _pkcs12_holder(dev_pki, tmp_path, username: str, lines: tuple[str, str, str]) -> str:
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, username)
    p12_path = tmp_path / f"{username}.p12"
    passphrase_path = tmp_path / f"{username}.pass"
    p12_path.write_bytes(issued.to_pkcs12(b"passphrase"))
    passphrase_path.write_bytes(b"passphrase")
    user = _user(username, lines)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12_path),
                                    secret_file=str(passphrase_path)))
    token = issue_token(user)
    db.session.commit()
    return token


def _prepare(client, token, document_id, certificates, **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures/prepare", headers=bearer(token, "en"),
                       json={"certificates": [base64.b64encode(der).decode() for der in certificates], **body})


def _sign_on_token(client, token, document_id, softhsm_token, **body):
    """Prepare with the token's certificates, sign on the token with the client's code, and complete."""
    certificates = _token_certificates(softhsm_token)
    prepared = _prepare(client, token, document_id, certificates, **body)
    assert prepared.status_code == 201, prepared.get_json()
    signed_attributes = base64.b64decode(prepared.get_json()["signed_attributes"])
    signature_value, certificates = dolil_sign.sign_prepared(signed_attributes, softhsm_token.settings(),
                                                             softhsm_token.user_pin)
    return client.post(f"/api/v1/documents/{document_id}/signatures/complete", headers=bearer(token, "en"),
                       json={"handle": prepared.get_json()["handle"],
                             "signature_value": base64.b64encode(signature_value).decode(),
                             "certificates": [base64.b64encode(der).decode() for der in certificates]})


@pytest.fixture
def served_app(app):
    """The application served over HTTP on 127.0.0.1 for the client program; returns its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="dolil-test-service", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def _run_client(url: str, api_token: str, document_id: str, softhsm_token, *options: str):
    arguments = [
        sys.executable, str(CLIENT), "--url", url, "--document", document_id,
        "--pkcs11-lib", str(softhsm_token.library_path), "--token-label", softhsm_token.token_label,
        "--key-label", softhsm_token.key_label, "--chain-label", softhsm_token.intermediate_label, *options,
    ]  # fmt: skip
    # The test process has SOFTHSM2_CONF pointing at the session's token directory.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DOLIL_")}
    environment.update({"DOLIL_TOKEN_PIN": softhsm_token.user_pin, "DOLIL_API_TOKEN": api_token,
                        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
    return subprocess.run(arguments, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


def _token_certificates(softhsm_token) -> list[bytes]:
    with dolil_sign.open_token_key(softhsm_token.settings(), softhsm_token.user_pin) as key:
        return key.certificates


def _widget_box(data: bytes, field_name: str) -> tuple[float, float, float, float]:
    reader = PdfFileReader(io.BytesIO(data))
    for entry in reader.root["/AcroForm"]["/Fields"]:
        field = entry.get_object()
        if str(field["/T"]) == field_name:
            widget = field if "/Rect" in field else field["/Kids"][0].get_object()
            x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
            return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
    raise AssertionError(f"no field {field_name}")


def _stamp_lines(path, data: bytes, box) -> list[str]:
    return extract_text(path, LAST_PAGE, box, page_height(data, LAST_PAGE)).rstrip("\f\n").split("\n")


def _content(client, tokens, document_id) -> bytes:
    response = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200
    return response.data


def _assert_stamp_drawn(tmp_path, before: bytes, after: bytes, box) -> None:
    """Render the page before and after the signature: only the stamp's box changed, and it contains text."""
    (tmp_path / "before.pdf").write_bytes(before)
    (tmp_path / "after.pdf").write_bytes(after)
    unsigned = render(tmp_path / "before.pdf", LAST_PAGE, tmp_path / "before")
    signed = render(tmp_path / "after.pdf", LAST_PAGE, tmp_path / "after")
    height = page_height(after, LAST_PAGE)
    x1, y1, x2, y2 = box
    # One pixel per point; one more pixel on each side for anti-aliasing of the border.
    box_pixels = (int(x1) - 1, int(height - y2) - 1, int(x2) + 2, int(height - y1) + 2)
    changed = ImageChops.difference(unsigned, signed).getbbox()
    assert changed is not None
    assert changed[0] >= box_pixels[0]
    assert changed[1] >= box_pixels[1]
    assert changed[2] <= box_pixels[2]
    assert changed[3] <= box_pixels[3]
    inner = signed.crop((int(x1) + 4, int(height - y2) + 4, int(x2) - 4, int(height - y1) - 4))
    assert sum(inner.histogram()[:128]) > 500


@needs_poppler
def test_fresh_field_stamped(app, client, tokens, softhsm_token, tmp_path):
    token = _token_holder(app, "secretary", SECRETARY, softhsm_token, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "secretary"}).get_json()["id"]
    dates = {_date_line()}

    completed = _sign_on_token(client, token, document_id, softhsm_token, visible=True)
    dates.add(_date_line())

    assert completed.status_code == 201, completed.get_json()
    assert completed.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    assert completed.get_json()["signature"]["field_name"] == "Signature1"
    content = _content(client, tokens, document_id)
    signed_path = tmp_path / "signed.pdf"
    signed_path.write_bytes(content)
    box = _widget_box(content, "Signature1")
    lines = _stamp_lines(signed_path, content, box)
    assert lines[:3] == list(SECRETARY)
    assert len(lines) == 4
    assert lines[3] in dates
    _assert_stamp_drawn(tmp_path, MINUTES_PDF.read_bytes(), content, box)
    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()
    assert report["indication"] == "TOTAL_PASSED"
    (signature,) = report["signatures"]
    assert signature["indication"] == "TOTAL_PASSED"
    assert signature["docmdp_permissions"] is not None


@needs_poppler
def test_chair_reserved_field_stamped(app, client, tokens, softhsm_token, dev_pki, served_app, tmp_path):
    """The chair signs with tools/dolil_sign.py into the field that the secretary's certification reserved."""
    secretary = _pkcs12_holder(dev_pki, tmp_path, "secretary", SECRETARY)
    chair = _token_holder(app, "chair", CHAIR, softhsm_token, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "secretary", "chair": "chair"}).get_json()["id"]
    certified = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(secretary, "en"),
                            json={"visible": True})
    assert certified.status_code == 201, certified.get_json()
    after_certification = _content(client, tokens, document_id)
    reserved_box = _widget_box(after_certification, "chair")
    dates = {_date_line()}

    result = _run_client(served_app, chair, document_id, softhsm_token, "--visible")
    dates.add(_date_line())

    assert result.returncode == dolil_sign.EXIT_OK, result.stderr
    completed = json.loads(result.stdout)
    assert completed["signature"]["field_name"] == "chair"
    assert completed["signature"]["role"] == "chair"
    assert completed["validation"]["indication"] == "TOTAL_PASSED"
    content = _content(client, tokens, document_id)
    assert _widget_box(content, "chair") == reserved_box
    signed_path = tmp_path / "signed.pdf"
    signed_path.write_bytes(content)
    chair_lines = _stamp_lines(signed_path, content, reserved_box)
    assert chair_lines[:3] == list(CHAIR)
    assert len(chair_lines) == 4
    assert chair_lines[3] in dates
    secretary_lines = _stamp_lines(signed_path, content, _widget_box(content, "Signature1"))
    assert secretary_lines[:3] == list(SECRETARY)
    _assert_stamp_drawn(tmp_path, after_certification, content, reserved_box)

    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()
    assert report["indication"] == "TOTAL_PASSED"
    certification, chair_signature = report["signatures"]
    assert certification["field_name"] == "Signature1"
    assert certification["indication"] == "TOTAL_PASSED"
    assert certification["docmdp_permissions"] is not None
    assert chair_signature["indication"] == "TOTAL_PASSED"
    # The certification still holds: pyHanko's DocMDP check accepts the filled field and its appearance.
    secretary_embedded, _ = PdfFileReader(io.BytesIO(content)).embedded_signatures
    assert secretary_embedded.docmdp_level.name == "FILL_FORMS"
    document = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"])).get_json()
    assert document["signing"]["complete"] is True


def test_chair_other_box_refused(app, client, tokens, softhsm_token, dev_pki, tmp_path):
    secretary = _pkcs12_holder(dev_pki, tmp_path, "secretary", SECRETARY)
    chair = _token_holder(app, "chair", CHAIR, softhsm_token, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "secretary", "chair": "chair"}).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(secretary, "en"), json={"visible": True})

    response = _prepare(client, chair, document_id, _token_certificates(softhsm_token),
                        visible=True, page=1, box=[50, 50, 250, 120])

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "stamp_position_fixed"
    assert db.session.execute(db.select(PendingSignature)).first() is None
    assert db.session.get(Document, document_id).current_revision.number == 2


@pytest.mark.parametrize("body, field", [
    ({"visible": "yes"}, "visible"),
    ({"visible": True, "page": 0}, "page"),
    ({"visible": True, "box": [1, 2, 3]}, "box"),
    ({"reason": 5}, "reason"),
    ({"location": "ঢ" * 201}, "location"),
])
def test_invalid_stamp_option_rejected(app, client, tokens, softhsm_token, tmp_path, body, field):
    token = _token_holder(app, "secretary", SECRETARY, softhsm_token, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "secretary"}).get_json()["id"]

    response = _prepare(client, token, document_id, _token_certificates(softhsm_token), **body)

    assert response.status_code == 422
    assert response.get_json()["code"] == "field_invalid"
    assert response.get_json()["field"] == field
    assert db.session.execute(db.select(PendingSignature)).first() is None


def test_latin_name_stamp_rejected(app, client, tokens, softhsm_token, tmp_path):
    token = _token_holder(app, "secretary", ("Hasina Begum", "সদস্য সচিব", "সিসিএ কার্যালয়"), softhsm_token, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _prepare(client, token, document_id, _token_certificates(softhsm_token), visible=True)

    assert response.status_code == 422
    assert response.get_json()["code"] == "stamp_text_unsupported"
    assert db.session.execute(db.select(PendingSignature)).first() is None
