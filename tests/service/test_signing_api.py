"""Signing through the API: timestamps, credential problems and refused certificates."""

from __future__ import annotations

from service.extensions import db
from service.models import Document, SigningCredential, User
from signing.devpki import issue_certificate
from tests.helpers import MINUTES_PDF, bearer, bound_credential, upload


def _officer_with_credential(tmp_path, p12: bytes, passphrase: bytes, certificate=None) -> str:
    from service.auth import issue_token

    p12_path = tmp_path / "signer.p12"
    passphrase_path = tmp_path / "signer.pass"
    p12_path.write_bytes(p12)
    passphrase_path.write_bytes(passphrase)
    user = User(username="second-officer", role="officer", display_name="Second officer")
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12_path), secret_file=str(passphrase_path),
                                    certificate=certificate))
    token = issue_token(user)
    db.session.commit()
    return token


def test_sign_bt_with_timestamp_service(make_app, tokens, tsa_url):
    app = make_app(tsa_url=tsa_url)
    with app.app_context():
        client = app.test_client()
        document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

        response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

        assert response.status_code == 201, response.get_json()
        validation = response.get_json()["validation"]
        # With a timestamp service the default level is B-LTA.
        assert validation["level"] == "B-LTA"
        assert validation["timestamp_time"]
        assert validation["indication"] == "TOTAL_PASSED"


def test_sign_with_unreachable_tsa_stores_nothing(make_app, tokens, unused_port):
    app = make_app(tsa_url=f"http://127.0.0.1:{unused_port}/tsa")
    with app.app_context():
        client = app.test_client()
        document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

        response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))

        assert response.status_code == 503
        assert response.get_json()["code"] == "timestamp_unavailable"
        assert db.session.get(Document, document_id).current_revision.number == 1


def test_certificate_without_non_repudiation_refused(client, tokens, dev_pki, tmp_path):
    issued = issue_certificate(dev_pki, "Officer Without Non-Repudiation", key_usage=("digital_signature",))
    token = _officer_with_credential(tmp_path, issued.to_pkcs12(b"secret"), b"secret")
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "second-officer"}).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"))

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "signer_certificate_rejected"
    assert body["reason"] == "key_usage"
    assert "non-repudiation" in body["detail"]
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_wrong_passphrase_reported(client, tokens, dev_pki, tmp_path):
    issued = issue_certificate(dev_pki, "Officer With Wrong Passphrase")
    token = _officer_with_credential(tmp_path, issued.to_pkcs12(b"right"), b"wrong", issued.asn1_certificate)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "second-officer"}).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token))

    assert response.status_code == 500
    assert response.get_json()["code"] == "signing_credential_unavailable"
    assert "wrong" not in response.get_data(as_text=True)
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_sign_rejects_non_json_body(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]),
                           data="level=B-B", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 422
    assert response.get_json()["field"] == "request"


def test_sign_unknown_document(client, tokens):
    response = client.post("/api/v1/documents/00000000-0000-4000-8000-000000000000/signatures",
                           headers=bearer(tokens["officer"]))

    assert response.status_code == 404


def _stamped_officer(dev_pki, tmp_path, display_name="রহিমা খাতুন"):
    from service.auth import issue_token

    issued = issue_certificate(dev_pki, "Stamped Officer")
    p12_path = tmp_path / "stamped.p12"
    p12_path.write_bytes(issued.to_pkcs12(b"secret"))
    (tmp_path / "stamped.pass").write_bytes(b"secret")
    user = User(username="stamped-officer", role="officer", display_name=display_name,
                designation="সদস্য সচিব", office="সিসিএ কার্যালয়")
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12_path),
                                     secret_file=str(tmp_path / "stamped.pass")))
    token = issue_token(user)
    db.session.commit()
    return token


def test_visible_stamp_in_bengali(app, client, tokens, dev_pki, tmp_path):
    import io
    import shutil
    import subprocess

    from pyhanko.pdf_utils.reader import PdfFileReader

    from tests.helpers import skip_unless_required

    token = _stamped_officer(dev_pki, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "stamped-officer"}).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token),
                           json={"visible": True})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"])).data
    (signature,) = PdfFileReader(io.BytesIO(content)).embedded_signatures
    widget = signature.sig_field["/Kids"][0] if "/Kids" in signature.sig_field else signature.sig_field
    x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
    assert x2 > x1
    assert y2 > y1
    if shutil.which("pdftotext") is None:
        skip_unless_required("pdftotext not found: install the Debian package poppler-utils")
    pdf_path = tmp_path / "signed.pdf"
    pdf_path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout
    # Neither the name nor today's date line occurs in the minutes themselves.
    from datetime import datetime

    from service.archive import BANGLADESH_TIME
    from service.bengali import format_dual_date_bn

    assert "রহিমা খাতুন" in text
    assert format_dual_date_bn(datetime.now(BANGLADESH_TIME).date()) in text


def test_visible_stamp_latin_name_rejected(app, client, tokens, dev_pki, tmp_path):
    token = _stamped_officer(dev_pki, tmp_path, display_name="Hasina Begum")
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"),
                           json={"visible": True})

    assert response.status_code == 422
    assert response.get_json()["code"] == "stamp_text_unsupported"
    assert db.session.get(Document, document_id).current_revision.number == 1


def test_visible_stamp_bad_box_rejected(client, tokens, dev_pki, tmp_path):
    token = _stamped_officer(dev_pki, tmp_path)
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token),
                           json={"visible": True, "box": [100, 100, 50]})

    assert response.status_code == 422
    assert response.get_json()["field"] == "box"
