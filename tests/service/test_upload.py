"""Upload through the API: accepted inputs, rejected inputs, and no trace after a rejection."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pikepdf
import pytest

from service.extensions import db
from service.models import AuditEvent, Document, Revision
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, upload


def archive_state(app) -> tuple[int, int, int, int]:
    """Counts of object versions in the bucket and of document, revision and audit rows.

    Authentication events are left out, because a token's first use is audited
    whatever the request does, and so are records of the refused request itself.
    """
    store = app.extensions["dolil"].store
    versions = sum(1 for _ in store.client.list_objects(store.bucket, recursive=True, include_version=True))
    return (
        versions,
        db.session.query(Document).count(),
        db.session.query(Revision).count(),
        db.session.query(AuditEvent).filter(AuditEvent.action.not_like("authentication.%"),
                                            AuditEvent.outcome != "refused").count(),
    )


def test_upload_sample_minutes(client, tokens):
    data = MINUTES_PDF.read_bytes()
    response = upload(client, tokens["officer"], MINUTES_PDF, memo_number="৫৬.০৩.০০০০.০০৩.০৫.০০৭.২১.১৫৮",
                      document_date="২০/০৯/২০২১", meeting_date="2021-09-20")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    assert body["kind"] == "minutes"
    assert body["title"] == "সভার কার্যবিবরণী"
    assert body["memo_number"] == "56.03.0000.003.05.007.21.158"
    assert body["document_date"] == "2021-09-20"
    assert body["revision"] == 1
    assert body["revisions"][0]["version_id"]
    assert response.headers["Location"] == f"/api/v1/documents/{body['id']}"


def test_upload_stores_exact_bytes(app, client, tokens):
    body = upload(client, tokens["officer"], MINUTES_PDF).get_json()
    revision = db.session.get(Document, body["id"]).current_revision

    stored = app.extensions["dolil"].store.get(revision.object_key, revision.version_id)

    assert stored == MINUTES_PDF.read_bytes()


def test_upload_jpeg_scan_converted_losslessly(app, client, tokens):
    response = upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="ই-নথি নিষ্পত্তির বিবরণী")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["revisions"][0]["source_type"] == "jpeg"
    revision = db.session.get(Document, body["id"]).current_revision
    pdf = app.extensions["dolil"].store.get(revision.object_key, revision.version_id)
    assert pdf.startswith(b"%PDF-")
    assert EVIDENCE_JPEG.read_bytes() in pdf


def test_upload_records_audit_event(client, tokens):
    body = upload(client, tokens["officer"], MINUTES_PDF).get_json()

    event = db.session.query(AuditEvent).filter_by(document_id=body["id"]).one()

    assert event.action == "document.upload"
    assert event.details["sha256"] == body["sha256"]


def _docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    with pikepdf.open(MINUTES_PDF) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="owner", user=""))
    return buffer.getvalue()


REJECTIONS = [
    # (case, form changes, file bytes, expected status, expected code)
    ("empty file", {}, b"", 422, "file_empty"),
    ("docx renamed pdf", {}, _docx_bytes(), 415, "unsupported_type"),
    ("plain text", {}, "এটি পিডিএফ নয়".encode(), 415, "unsupported_type"),
    ("truncated pdf", {}, MINUTES_PDF.read_bytes()[: len(MINUTES_PDF.read_bytes()) // 2], 422, "malformed_pdf"),
    ("garbage after header", {}, b"%PDF-1.7\n" + b"\x00garbage" * 100, 422, "malformed_pdf"),
    ("encrypted pdf", {}, _encrypted_pdf(), 422, "encrypted_pdf"),
    ("truncated jpeg", {}, EVIDENCE_JPEG.read_bytes()[:2000], 422, "image_invalid"),
    ("missing kind", {"kind": None}, MINUTES_PDF.read_bytes(), 422, "field_missing"),
    ("unknown kind", {"kind": "letter"}, MINUTES_PDF.read_bytes(), 422, "field_invalid"),
    ("missing title", {"title": None}, MINUTES_PDF.read_bytes(), 422, "field_missing"),
    ("invalid memo number", {"memo_number": "১২৩"}, MINUTES_PDF.read_bytes(), 422, "field_invalid"),
    ("invalid date", {"document_date": "2021-02-30"}, MINUTES_PDF.read_bytes(), 422, "field_invalid"),
]


@pytest.mark.parametrize(("case", "fields", "content", "status", "code"), REJECTIONS, ids=[row[0] for row in REJECTIONS])
def test_upload_rejected_leaves_no_trace(app, client, tokens, case, fields, content, status, code):
    before = archive_state(app)

    response = upload(client, tokens["officer"], data=content, filename="minutes.pdf", **fields)

    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code
    assert archive_state(app) == before


def test_upload_without_file_rejected(app, client, tokens):
    before = archive_state(app)

    response = upload(client, tokens["officer"])

    assert response.status_code == 422
    assert response.get_json()["code"] == "field_missing"
    assert response.get_json()["field"] == "file"
    assert archive_state(app) == before


def test_upload_over_limit_rejected(make_app, tokens):
    app = make_app(max_upload_bytes=20_000)
    client = app.test_client()
    with app.app_context():
        before = archive_state(app)

        response = upload(client, tokens["officer"], MINUTES_PDF)

        assert response.status_code == 413
        assert response.get_json()["code"] == "file_too_large"
        assert response.get_json()["max_bytes"] == 20_000
        assert archive_state(app) == before


def test_upload_far_over_limit_rejected_by_content_length(make_app, tokens):
    app = make_app(max_upload_bytes=1000)
    client = app.test_client()
    with app.app_context():
        before = archive_state(app)

        response = upload(client, tokens["officer"], data=b"%PDF-1.7\n" + b"0" * 200_000)

        assert response.status_code == 413
        assert response.get_json()["code"] == "file_too_large"
        # The file limit, not the request limit that adds room for multipart framing.
        assert response.get_json()["max_bytes"] == 1000
        assert archive_state(app) == before


def test_upload_error_in_english_on_request(client, tokens):
    headers = bearer(tokens["officer"], "en-GB,en;q=0.9")

    response = client.post("/api/v1/documents", data={"title": "x"}, headers=headers,
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert response.headers["Content-Language"] == "en"
    assert response.get_json()["title"] == "Required field missing"


def test_upload_error_in_bengali_by_default(client, tokens):
    response = client.post("/api/v1/documents", data={"title": "x"}, headers=bearer(tokens["officer"]),
                           content_type="multipart/form-data")

    assert response.headers["Content-Language"] == "bn"
    assert response.get_json()["title"] == "আবশ্যক তথ্য নেই"
    assert "দলিলের ধরন" in response.get_json()["detail"]


def test_upload_failed_commit_discards_object(app, client, tokens, monkeypatch):
    """A database failure after the object write leaves neither a row nor the object."""
    before = archive_state(app)

    def fail_commit():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", fail_commit)
    response = upload(client, tokens["officer"], MINUTES_PDF)
    monkeypatch.undo()

    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    db.session.rollback()
    assert archive_state(app) == before


def test_upload_malformed_multipart_rejected(app, client, tokens):
    before = archive_state(app)
    headers = bearer(tokens["officer"], "en")
    headers["Content-Type"] = "multipart/form-data"  # no boundary

    response = client.post("/api/v1/documents", data=b"--x\r\nnot a form", headers=headers)

    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"
    assert archive_state(app) == before


def test_upload_json_body_rejected(app, client, tokens):
    response = client.post("/api/v1/documents", json={"kind": "minutes"}, headers=bearer(tokens["officer"], "en"))

    assert response.status_code == 422
    assert response.get_json()["field"] == "request"
    assert "multipart/form-data" in response.get_json()["detail"]
    assert response.headers["Vary"] == "Accept-Language"


def test_refused_upload_recorded(app, client, tokens):
    response = upload(client, tokens["officer"], MINUTES_PDF, kind="letters")

    assert response.status_code == 422
    event = db.session.query(AuditEvent).filter_by(action="document.upload").one()
    assert event.outcome == "refused"
    assert event.details == {"code": "field_invalid", "status": 422}
