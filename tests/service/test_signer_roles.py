"""Holders of signing roles: named at upload, enforced when signing, changed before signing."""

from __future__ import annotations

import pytest

from service.auth import issue_token
from service.extensions import db
from service.models import AuditEvent, Document, Signature, SignerAssignment, User
from tests.helpers import EVIDENCE_JPEG, MINUTES_PDF, bearer, bound_credential, upload
from tests.service.test_two_phase import _complete, _prepare, _sign_attributes, token_officer  # noqa: F401
from tests.service.test_upload import archive_state


@pytest.fixture
def third_officer(app, dev_pki, tmp_path) -> str:
    """An officer who is neither the uploader nor the chair, with a credential of their own."""
    from signing.devpki import issue_certificate

    issued = issue_certificate(dev_pki, "Third Officer")
    (tmp_path / "third.p12").write_bytes(issued.to_pkcs12(b"third-passphrase"))
    (tmp_path / "third.pass").write_bytes(b"third-passphrase")
    user = User(username="third-officer", role="officer", display_name="Third Officer")
    db.session.add(user)
    db.session.add(bound_credential(user=user, kind="pkcs12", location=str(tmp_path / "third.p12"),
                                    secret_file=str(tmp_path / "third.pass")))
    token = issue_token(user)
    db.session.commit()
    return token


def _sign(client, token, document_id, language="en", **body):
    return client.post(f"/api/v1/documents/{document_id}/signatures", headers=bearer(token, language), json=body)


def _put_signer(client, token, document_id, role, username, language="en"):
    return client.put(f"/api/v1/documents/{document_id}/signers/{role}", headers=bearer(token, language),
                      json={"user": username})


def _roles(document: dict) -> dict[str, tuple[str | None, bool]]:
    return {entry["role"]: (entry["holder"], entry["signed"]) for entry in document["signing"]["roles"]}


def _revision_number(document_id: str) -> int:
    db.session.expire_all()
    return db.session.get(Document, document_id).current_revision.number


# Upload


def test_uploader_holds_first_role(client, tokens):
    response = upload(client, tokens["officer"], MINUTES_PDF)

    assert response.status_code == 201, response.get_json()
    assert _roles(response.get_json()) == {"member_secretary": ("test-officer", False), "chair": (None, False)}


def test_upload_names_chair(client, tokens, chair_token):
    response = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"})

    assert response.status_code == 201, response.get_json()
    assert _roles(response.get_json()) == {"member_secretary": ("test-officer", False),
                                           "chair": ("test-chair", False)}
    rows = db.session.query(SignerAssignment).filter_by(document_id=response.get_json()["id"]).all()
    assert {row.role for row in rows} == {"member_secretary", "chair"}
    event = db.session.query(AuditEvent).filter_by(action="document.upload", outcome="success").one()
    assert event.details["signers"] == {"member_secretary": "test-officer", "chair": "test-chair"}


def test_upload_names_other_secretary(client, tokens, chair_token):
    response = upload(client, tokens["officer"], MINUTES_PDF, signers={"member_secretary": "test-chair"})

    assert response.status_code == 201, response.get_json()
    assert _roles(response.get_json()) == {"member_secretary": ("test-chair", False), "chair": (None, False)}


def test_upload_names_evidence_submitter(client, tokens, chair_token):
    response = upload(client, tokens["officer"], EVIDENCE_JPEG, kind="evidence", title="প্রমাণক",
                      signers={"submitter": "test-chair"})
    document_id = response.get_json()["id"]

    by_uploader = _sign(client, tokens["officer"], document_id)
    by_submitter = _sign(client, chair_token, document_id)

    assert by_uploader.status_code == 403
    assert by_uploader.get_json()["code"] == "signature_role_not_assigned"
    assert by_submitter.status_code == 201, by_submitter.get_json()
    assert _roles(by_submitter.get_json()["document"]) == {"submitter": ("test-chair", True)}


def _add_inactive_officer() -> None:
    db.session.add(User(username="retired-officer", role="officer", display_name="Retired", active=False))
    db.session.commit()


@pytest.mark.parametrize(("signers", "code", "extra"), [
    ('{"chair": ', "field_invalid", {"field": "signers"}),
    ('["test-chair"]', "field_invalid", {"field": "signers"}),
    ('{"chair": 7}', "field_invalid", {"field": "signers"}),
    ('{"chair": "test-chair", "chair": "test-officer"}', "field_invalid", {"field": "signers"}),
    ('{"president": "test-chair"}', "signer_role_unknown", {"role": "president"}),
    ('{"submitter": "test-chair"}', "signer_role_unknown", {"role": "submitter"}),
    ('{"chair": "nobody"}', "signer_user_not_found", {"username": "nobody"}),
    ('{"chair": "retired-officer"}', "signer_user_inactive", {"username": "retired-officer"}),
    ('{"chair": "test-auditor"}', "signer_not_officer", {"user_role": "auditor"}),
    ('{"chair": "test-admin"}', "signer_not_officer", {"user_role": "admin"}),
    ('{"chair": "test-officer"}', "signer_assigned_twice", {"role": "member_secretary", "other_role": "chair"}),
    ('{"member_secretary": "test-chair", "chair": "test-chair"}', "signer_assigned_twice", {"username": "test-chair"}),
])
def test_bad_signers_rejected(app, client, tokens, chair_token, signers, code, extra):
    _add_inactive_officer()
    before = archive_state(app)

    response = client.post("/api/v1/documents", headers=bearer(tokens["officer"], "en"),
                           content_type="multipart/form-data",
                           data={"kind": "minutes", "title": "সভার কার্যবিবরণী", "signers": signers,
                                 "file": (MINUTES_PDF.open("rb"), "minutes.pdf")})

    body = response.get_json()
    assert body["code"] == code, body
    assert response.status_code == 422
    for key, value in extra.items():
        assert body[key] == value
    assert archive_state(app) == before
    assert db.session.query(SignerAssignment).count() == 0
    refused = db.session.query(AuditEvent).filter_by(action="document.upload", outcome="refused").one()
    assert refused.details["code"] == code


def test_bad_signer_problem_in_bengali(client, tokens):
    response = client.post("/api/v1/documents", headers=bearer(tokens["officer"], "bn"),
                           content_type="multipart/form-data",
                           data={"kind": "minutes", "title": "সভার কার্যবিবরণী", "signers": '{"chair": "nobody"}',
                                 "file": (MINUTES_PDF.open("rb"), "minutes.pdf")})

    assert response.get_json()["title"] == "স্বাক্ষরকারী পাওয়া যায়নি"
    assert response.get_json()["detail"] == "সভাপতি হিসেবে দেওয়া 'nobody' নামের কোনো ব্যবহারকারী নেই।"


# Signing


def test_chair_without_role_refused_on_fresh_minutes(app, client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    before = archive_state(app)

    response = _sign(client, chair_token, document_id)

    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "signature_role_not_assigned"
    assert response.get_json()["role"] == "member_secretary"
    assert "member secretary" in response.get_json()["detail"]
    assert archive_state(app) == before
    assert _revision_number(document_id) == 1
    assert db.session.query(Signature).count() == 0
    refused = db.session.query(AuditEvent).filter_by(action="document.sign", outcome="refused").one()
    assert refused.details["code"] == "signature_role_not_assigned"


def test_role_not_assigned_in_bengali(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _sign(client, chair_token, document_id, language="bn")

    assert response.get_json()["title"] == "ভূমিকাটি অন্য কর্মকর্তার"
    assert "সদস্য সচিব" in response.get_json()["detail"]
    assert "role_bn" not in response.get_json()


def test_named_chair_without_role_told_to_wait(app, client, tokens, chair_token):
    """A chair named at upload who signs first hears that it is not their turn, not that the role is someone else's."""
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]
    before = archive_state(app)

    response = _sign(client, chair_token, document_id)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "signature_out_of_order"
    assert response.get_json()["expected"] == "member_secretary"
    assert archive_state(app) == before
    assert _revision_number(document_id) == 1


def test_chair_naming_secretary_role_refused(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]

    response = _sign(client, chair_token, document_id, role="member_secretary")

    assert response.status_code == 403
    assert response.get_json()["code"] == "signature_role_not_assigned"
    assert _revision_number(document_id) == 1


def test_named_chair_signs_after_secretary(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]

    early = _sign(client, chair_token, document_id, role="chair")
    secretary = _sign(client, tokens["officer"], document_id)
    chair = _sign(client, chair_token, document_id)

    assert early.status_code == 409
    assert early.get_json()["code"] == "signature_out_of_order"
    assert secretary.status_code == 201, secretary.get_json()
    assert chair.status_code == 201, chair.get_json()
    assert chair.get_json()["signature"]["role"] == "chair"
    assert chair.get_json()["document"]["signing"]["complete"] is True
    assert _roles(chair.get_json()["document"]) == {"member_secretary": ("test-officer", True),
                                                    "chair": ("test-chair", True)}


def test_open_chair_taken_by_other_officer(client, tokens, third_officer):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    response = _sign(client, third_officer, document_id)

    assert response.status_code == 201, response.get_json()
    assert _roles(response.get_json()["document"])["chair"] == ("third-officer", True)


def test_named_chair_refuses_third_officer(client, tokens, chair_token, third_officer):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    without_role = _sign(client, third_officer, document_id)
    with_role = _sign(client, third_officer, document_id, role="chair")

    for response in (without_role, with_role):
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["code"] == "signature_role_not_assigned"
        assert response.get_json()["role"] == "chair"
        assert response.get_json()["holder"] == "test-chair"
    assert _revision_number(document_id) == 2


def test_holder_changed_while_signing_refused(app, client, tokens, chair_token, third_officer, monkeypatch):
    """A holder changed after the signing order was checked is caught when the signature is stored."""
    from service import archive, signers
    from service.signing_order import check_next_signature

    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]
    _sign(client, tokens["officer"], document_id)
    before = archive_state(app)

    def check_then_change_holder(document, user, role):
        checked = check_next_signature(document, user, role)
        # Another request commits a new holder while this signature is being made.
        signers.change_signer(document.id, None, "chair", "third-officer")
        return checked

    monkeypatch.setattr(archive, "check_next_signature", check_then_change_holder)
    response = _sign(client, chair_token, document_id)

    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "signature_role_not_assigned"
    assert response.get_json()["holder"] == "third-officer"
    assert _revision_number(document_id) == 2
    # The holder change is the only new audit event; the refusal is left out of the count.
    assert archive_state(app)[:3] == before[:3]


# Changing the holder


def test_uploader_changes_chair(client, tokens, chair_token, third_officer):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"chair": "test-chair"}).get_json()["id"]
    _sign(client, tokens["officer"], document_id)

    changed = _put_signer(client, tokens["officer"], document_id, "chair", "third-officer")
    old_holder = _sign(client, chair_token, document_id)
    new_holder = _sign(client, third_officer, document_id)

    assert changed.status_code == 200, changed.get_json()
    assert _roles(changed.get_json())["chair"] == ("third-officer", False)
    assert old_holder.status_code == 403
    assert old_holder.get_json()["code"] == "signature_role_not_assigned"
    assert new_holder.status_code == 201, new_holder.get_json()
    event = db.session.query(AuditEvent).filter_by(action="document.signer_change", outcome="success").one()
    assert event.details == {"role": "chair", "user": "third-officer", "previous": "test-chair", "via": "api"}
    assert event.document_id == document_id


def test_admin_changes_secretary(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    changed = _put_signer(client, tokens["admin"], document_id, "member_secretary", "test-chair")
    uploader = _sign(client, tokens["officer"], document_id)
    secretary = _sign(client, chair_token, document_id)

    assert changed.status_code == 200, changed.get_json()
    assert _roles(changed.get_json())["member_secretary"] == ("test-chair", False)
    assert uploader.status_code == 403
    assert secretary.status_code == 201, secretary.get_json()
    assert secretary.get_json()["signature"]["role"] == "member_secretary"


def test_other_officer_cannot_change_signers(client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    by_officer = _put_signer(client, chair_token, document_id, "chair", "test-chair")
    by_auditor = _put_signer(client, tokens["auditor"], document_id, "chair", "test-chair")

    assert by_officer.status_code == 403
    assert by_officer.get_json()["code"] == "signer_change_forbidden"
    assert by_auditor.status_code == 403
    assert by_auditor.get_json()["code"] == "forbidden"
    assert db.session.query(SignerAssignment).filter_by(role="chair").count() == 0
    refused = db.session.query(AuditEvent).filter_by(action="document.signer_change", outcome="refused").one()
    assert refused.details["code"] == "signer_change_forbidden"


def test_signed_role_cannot_change(client, tokens, chair_token, third_officer):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]
    _sign(client, tokens["officer"], document_id)
    _sign(client, third_officer, document_id)

    secretary = _put_signer(client, tokens["admin"], document_id, "member_secretary", "test-chair")
    chair = _put_signer(client, tokens["officer"], document_id, "chair", "test-chair")

    for response in (secretary, chair):
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["code"] == "signature_role_taken"
    document = client.get(f"/api/v1/documents/{document_id}", headers=bearer(tokens["auditor"])).get_json()
    assert _roles(document)["chair"] == ("third-officer", True)


@pytest.mark.parametrize(("role", "username", "code"), [
    ("president", "test-chair", "signer_role_unknown"),
    ("chair", "nobody", "signer_user_not_found"),
    ("chair", "test-auditor", "signer_not_officer"),
    ("chair", "test-officer", "signer_assigned_twice"),
])
def test_change_to_bad_signer_rejected(client, tokens, chair_token, role, username, code):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    response = _put_signer(client, tokens["officer"], document_id, role, username)

    assert response.status_code == 422
    assert response.get_json()["code"] == code
    assert db.session.query(SignerAssignment).filter_by(role="chair").count() == 0


def test_change_to_officer_who_signed_rejected(client, tokens, chair_token, third_officer):
    document_id = upload(client, tokens["officer"], MINUTES_PDF, signers={"member_secretary": "test-chair"}
                         ).get_json()["id"]
    _sign(client, chair_token, document_id)

    response = _put_signer(client, tokens["officer"], document_id, "chair", "test-chair")

    assert response.status_code == 422
    assert response.get_json()["code"] == "signer_assigned_twice"


def test_change_needs_user(client, tokens):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    missing = client.put(f"/api/v1/documents/{document_id}/signers/chair", headers=bearer(tokens["officer"]),
                         json={})
    wrong_type = client.put(f"/api/v1/documents/{document_id}/signers/chair", headers=bearer(tokens["officer"]),
                            json={"user": 5})

    assert missing.status_code == 422
    assert missing.get_json()["code"] == "field_missing"
    assert wrong_type.status_code == 422
    assert wrong_type.get_json()["field"] == "user"


def test_cli_changes_signer(app, client, tokens, chair_token):
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    result = app.test_cli_runner().invoke(args=["signers", "set", document_id, "chair", "test-chair"])
    refused = app.test_cli_runner().invoke(args=["signers", "set", document_id, "chair", "nobody"])

    assert result.exit_code == 0, result.output
    assert "chair" in result.output
    holder = db.session.query(SignerAssignment).filter_by(document_id=document_id, role="chair").one()
    assert holder.user.username == "test-chair"
    assert holder.assigned_by_id is None
    assert refused.exit_code != 0
    assert "signer_user_not_found" in refused.output


# Two-phase signing


def test_prepare_refuses_role_held_by_other(client, tokens, token_officer):  # noqa: F811
    token, _, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF).get_json()["id"]

    without_role = _prepare(client, token, document_id, certificates)
    with_role = _prepare(client, token, document_id, certificates, role="member_secretary")

    for response in (without_role, with_role):
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["code"] == "signature_role_not_assigned"
    refused = db.session.query(AuditEvent).filter_by(action="document.sign_prepare", outcome="refused").all()
    assert [event.details["code"] for event in refused] == ["signature_role_not_assigned"] * 2


def test_prepare_by_named_holder(client, tokens, token_officer):  # noqa: F811
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "token-officer"}).get_json()["id"]

    prepared = _prepare(client, token, document_id, certificates).get_json()
    completed = _complete(client, token, document_id, prepared["handle"],
                          _sign_attributes(issued, prepared["signed_attributes"]), certificates)

    assert completed.status_code == 201, completed.get_json()
    assert completed.get_json()["signature"]["role"] == "member_secretary"


def test_complete_refused_after_holder_changed(client, tokens, chair_token, token_officer):  # noqa: F811
    token, issued, certificates = token_officer
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "token-officer"}).get_json()["id"]
    prepared = _prepare(client, token, document_id, certificates).get_json()
    _put_signer(client, tokens["officer"], document_id, "member_secretary", "test-chair")

    completed = _complete(client, token, document_id, prepared["handle"],
                          _sign_attributes(issued, prepared["signed_attributes"]), certificates)

    assert completed.status_code == 403, completed.get_json()
    assert completed.get_json()["code"] == "signature_role_not_assigned"
    assert _revision_number(document_id) == 1
    refused = db.session.query(AuditEvent).filter_by(action="document.sign", outcome="refused").one()
    assert refused.details["code"] == "signature_role_not_assigned"
