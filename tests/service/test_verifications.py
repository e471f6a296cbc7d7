"""POST /api/v1/verifications: validate a PDF an auditor hands in, archive nothing."""

from __future__ import annotations

import io

from service.extensions import db
from service.models import AuditEvent
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer
from tests.service.test_upload import archive_state


def _verify(client, token, data: bytes, language: str | None = None):
    return client.post("/api/v1/verifications", data={"file": (io.BytesIO(data), "handed-in.pdf")},
                       headers=bearer(token, language), content_type="multipart/form-data")


def _signed_minutes(client, tokens) -> bytes:
    created = client.post("/api/v1/documents", headers=bearer(tokens["officer"]), content_type="multipart/form-data",
                          data={"kind": "minutes", "title": "কার্যবিবরণী",
                                "file": (io.BytesIO(MINUTES_PDF.read_bytes()), "minutes.pdf")})
    document_id = created.get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(tokens["officer"]))
    return client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"])).data


def test_signed_pdf_report(app, client, tokens):
    signed = _signed_minutes(client, tokens)
    state = archive_state(app)

    response = _verify(client, tokens["auditor"], signed)

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["indication"] == "TOTAL_PASSED"
    assert len(report["signatures"]) == 1
    assert report["size"] == len(signed)
    versions, documents, revisions, events = archive_state(app)
    assert (versions, documents, revisions) == state[:3]
    assert events == state[3] + 1
    assert db.session.query(AuditEvent).order_by(AuditEvent.id.desc()).first().action == "verification.create"


def test_unsigned_pdf_no_signature(client, tokens):
    response = _verify(client, tokens["auditor"], MINUTES_PDF.read_bytes())

    assert response.status_code == 200
    assert response.get_json()["indication"] == "NO_SIGNATURE"


def test_altered_pdf_not_passed(client, tokens):
    signed = _signed_minutes(client, tokens)

    response = _verify(client, tokens["auditor"], signed + b"\n% appended after signing\n")

    assert response.status_code == 200
    assert response.get_json()["indication"] != "TOTAL_PASSED"


def test_image_rejected(client, tokens):
    response = _verify(client, tokens["auditor"], EVIDENCE_JPEG.read_bytes(), "en")

    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_type"


def test_truncated_pdf_rejected(client, tokens):
    response = _verify(client, tokens["auditor"], MINUTES_PDF.read_bytes()[:5000])

    assert response.status_code == 422
    assert response.get_json()["code"] == "malformed_pdf"


def test_empty_file_rejected(client, tokens):
    response = _verify(client, tokens["auditor"], b"")

    assert response.status_code == 422
    assert response.get_json()["code"] == "file_empty"
