"""Co-signed minutes with visible stamps: the certification reserves the chair's field."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from service.bengali import format_dual_date_bn
from tests.helpers import MINUTES_PDF, bearer, bound_credential, upload
from tests.signing.test_stamp import extract_text, intersects, needs_poppler, page_height, word_boxes

SECRETARY = ("মোহাম্মদ আব্দুল্লাহ আল মামুন", "উপ-নিয়ন্ত্রক (সাইবার অপরাধ ও নিরাপত্তা)", "সিসিএ কার্যালয়")
CHAIR = ("আবুল কালাম আজাদ", "নিয়ন্ত্রক", "সিসিএ কার্যালয়")
# The test officer uploads; the officers of the `officers` fixture hold the roles.
SIGNERS = {"member_secretary": "secretary", "chair": "chair"}


def _officer(dev_pki, tmp_path, username: str, lines: tuple[str, str, str]) -> str:
    from service.auth import issue_token
    from service.extensions import db
    from service.models import User
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, username)
    p12_path = tmp_path / f"{username}.p12"
    passphrase_path = tmp_path / f"{username}.pass"
    p12_path.write_bytes(issued.to_pkcs12(b"passphrase"))
    passphrase_path.write_bytes(b"passphrase")
    name, designation, office = lines
    user = User(username=username, role="officer", display_name=name, designation=designation, office=office)
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(p12_path),
                                    secret_file=str(passphrase_path)))
    token = issue_token(user, label="test")
    db.session.commit()
    return token


@pytest.fixture
def officers(app, dev_pki, tmp_path) -> tuple[str, str]:
    return (_officer(dev_pki, tmp_path, "secretary", SECRETARY), _officer(dev_pki, tmp_path, "chair", CHAIR))


def _sign(client, token, document_id, **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, "en"), json=body)


def _widget_boxes(data: bytes) -> dict[str, tuple[float, ...]]:
    reader = PdfFileReader(io.BytesIO(data))
    boxes = {}
    for entry in reader.root["/AcroForm"]["/Fields"]:
        field = entry.get_object()
        boxes[str(field["/T"])] = tuple(float(value) for value in field["/Rect"])
    return boxes


def _date_line() -> str:
    from service.archive import BANGLADESH_TIME

    return format_dual_date_bn(datetime.now(BANGLADESH_TIME).date())


@needs_poppler
def test_both_officers_sign_visibly(client, officers, tokens, tmp_path):
    secretary, chair = officers
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    dates = {_date_line()}

    first = _sign(client, secretary, document_id, visible=True)
    after_first = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"])).get_json()
    second = _sign(client, chair, document_id, visible=True)
    dates.add(_date_line())

    assert first.status_code == 201, first.get_json()
    assert after_first["signing"]["complete"] is False
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["signature"]["field_name"] == "chair"

    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()
    assert report["indication"] == "TOTAL_PASSED"
    assert [entry["indication"] for entry in report["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    document = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"])).get_json()
    assert document["signing"]["valid"] is True
    assert document["signing"]["complete"] is True

    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"])).data
    signed_path = tmp_path / "signed.pdf"
    signed_path.write_bytes(content)
    boxes = _widget_boxes(content)
    height = page_height(content, 2)
    words = word_boxes(MINUTES_PDF, 2, height)
    assert set(boxes) == {"Signature1", "chair"}
    assert not intersects(boxes["Signature1"], boxes["chair"])
    assert [word for word in words for box in boxes.values() if intersects(word, box)] == []
    for field_name, lines in (("Signature1", SECRETARY), ("chair", CHAIR)):
        extracted = extract_text(signed_path, 2, boxes[field_name], height).rstrip("\f\n").split("\n")
        assert extracted[:3] == list(lines), field_name
        assert len(extracted) == 4, field_name
        assert extracted[3] in dates, field_name


def test_chair_field_reserved_when_secretary_invisible(client, officers, tokens):
    secretary, chair = officers
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]

    first = _sign(client, secretary, document_id)
    second = _sign(client, chair, document_id, visible=True)

    assert first.status_code == 201
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["validation"]["indication"] == "TOTAL_PASSED"
    document = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"])).get_json()
    assert document["signing"]["complete"] is True


def test_chair_invisible_fills_reserved_field(client, officers, tokens):
    secretary, chair = officers
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    _sign(client, secretary, document_id, visible=True)

    response = _sign(client, chair, document_id)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["signature"]["field_name"] == "chair"
    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()
    assert [entry["indication"] for entry in report["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]


def test_chair_other_box_refused(app, client, officers, tokens):
    from service.extensions import db
    from service.models import Document

    secretary, chair = officers
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    _sign(client, secretary, document_id, visible=True)

    response = _sign(client, chair, document_id, visible=True, page=3, box=[40, 40, 220, 110])

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "stamp_position_fixed"
    assert response.get_json()["page"] == 3
    assert db.session.get(Document, document_id).current_revision.number == 2


def test_chair_same_box_accepted(client, officers, tokens):
    secretary, chair = officers
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers=SIGNERS).get_json()["id"]
    signed = _sign(client, secretary, document_id, visible=True)
    assert signed.status_code == 201
    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"])).data
    box = [round(value, 3) for value in _widget_boxes(content)["chair"]]

    response = _sign(client, chair, document_id, visible=True, page=3, box=box)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["validation"]["indication"] == "TOTAL_PASSED"


def _full_page_pdf() -> bytes:
    """A one-page PDF whose page is black from edge to edge, so no stamp fits anywhere."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Contents = pdf.make_stream(b"0 g 0 0 595 842 re f")
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def test_full_page_reserves_invisible_field(client, officers, tokens):
    secretary, chair = officers
    uploaded = upload(client, tokens["officer"], data=_full_page_pdf(), filename="full.pdf", signers=SIGNERS)
    assert uploaded.status_code == 201, uploaded.get_json()
    document_id = uploaded.get_json()["id"]

    certified = _sign(client, secretary, document_id)
    visible = _sign(client, chair, document_id, visible=True)
    invisible = _sign(client, chair, document_id)

    assert certified.status_code == 201, certified.get_json()
    assert visible.status_code == 409, visible.get_json()
    assert visible.get_json()["code"] == "stamp_field_invisible"
    assert invisible.status_code == 201, invisible.get_json()
    assert invisible.get_json()["signature"]["field_name"] == "chair"
    report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(tokens["auditor"])).get_json()
    assert [entry["indication"] for entry in report["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
