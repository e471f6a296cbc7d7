"""Authentication and the permission rule of every API endpoint."""

from __future__ import annotations

import pytest

from service.auth import PERMISSIONS, PUBLIC, hash_token
from service.extensions import db
from service.models import ApiToken, AuditEvent, utcnow
from tests.helpers import MINUTES_PDF, bearer, upload

DOCUMENT_ID = "00000000-0000-4000-8000-000000000000"

# Every API endpoint with the permission it must declare.
ENDPOINTS = [
    ("POST", "/api/v1/documents", "document:create"),
    ("GET", "/api/v1/documents", "document:read"),
    ("GET", f"/api/v1/documents/{DOCUMENT_ID}", "document:read"),
    ("POST", f"/api/v1/documents/{DOCUMENT_ID}/signatures", "document:sign"),
    ("GET", f"/api/v1/documents/{DOCUMENT_ID}/content", "document:read"),
    ("GET", f"/api/v1/documents/{DOCUMENT_ID}/verification", "document:verify"),
    ("POST", "/api/v1/verifications", "verification:create"),
    ("GET", "/api/v1/audit-events", "audit:read"),
    ("PUT", f"/api/v1/documents/{DOCUMENT_ID}/legal-hold", "document:legal-hold"),
    ("PUT", f"/api/v1/documents/{DOCUMENT_ID}/signers/chair", "document:assign-signer"),
    ("POST", f"/api/v1/documents/{DOCUMENT_ID}/signatures/prepare", "document:sign"),
    ("POST", f"/api/v1/documents/{DOCUMENT_ID}/signatures/complete", "document:sign"),
    ("GET", f"/api/v1/documents/{DOCUMENT_ID}/revisions/1/validation-data", "document:validation-data"),
    ("GET", f"/api/v1/documents/{DOCUMENT_ID}/export", "document:export"),
    ("GET", "/metrics", "metrics:read"),
]

# Blueprints whose every view must declare a permission; /healthz and /readyz
# stay open for load balancers.
GUARDED = ("api.", "metrics.")


def test_every_api_view_declares_permission(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(GUARDED):
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "permission", None) in {*PERMISSIONS, PUBLIC}, rule.rule


def test_endpoint_table_covers_all_api_rules(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith(GUARDED)
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(method, path.replace(DOCUMENT_ID, "<document_id>").replace("/revisions/1/", "/revisions/<int:number>/")
              .replace("/signers/chair", "/signers/<role>"))
              for method, path, _ in ENDPOINTS}
    assert rules == listed | {("GET", "/api/v1/openapi.json")}


def test_openapi_is_public(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.get_json()["openapi"] == "3.1.0"


@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS)
def test_missing_token_rejected(client, method, path, permission):
    response = client.open(path, method=method)

    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS)
def test_unknown_token_rejected(client, method, path, permission):
    response = client.open(path, method=method, headers=bearer("dolil_not-a-real-token"))

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS)
@pytest.mark.parametrize("role", ["officer", "auditor", "service", "admin"])
def test_role_rule_enforced(client, tokens, method, path, permission, role):
    response = client.open(path, method=method, headers=bearer(tokens[role]))

    if role in PERMISSIONS[permission]:
        assert response.status_code != 403
    else:
        assert response.status_code == 403
        assert response.get_json()["code"] == "forbidden"


def test_unknown_document_not_found(client, tokens):
    response = client.get(f"/api/v1/documents/{DOCUMENT_ID}", headers=bearer(tokens["auditor"]))

    assert response.status_code == 404
    assert response.get_json()["code"] == "document_not_found"


def test_tokens_stored_only_as_hash(app, tokens):
    stored = {token.token_hash for token in db.session.query(ApiToken)}

    for token in tokens.values():
        assert token not in stored
        assert hash_token(token) in stored


def test_revoked_token_rejected(client, tokens):
    token = db.session.query(ApiToken).filter_by(token_hash=hash_token(tokens["auditor"])).one()
    token.revoked_at = utcnow()
    db.session.commit()

    response = client.get("/api/v1/documents", headers=bearer(tokens["auditor"]))

    assert response.status_code == 401


def test_auditor_cannot_upload(app, client, tokens):
    response = upload(client, tokens["auditor"], MINUTES_PDF)

    assert response.status_code == 403
    assert db.session.execute(db.text("SELECT COUNT(*) FROM documents")).scalar() == 0


def test_cli_creates_user_and_token(app):
    runner = app.test_cli_runner()

    created = runner.invoke(args=["users", "create", "rahim", "--role", "auditor", "--name", "রহিম"])
    issued = runner.invoke(args=["tokens", "create", "rahim", "--label", "laptop"])

    assert created.exit_code == 0, created.output
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    response = app.test_client().get("/api/v1/documents", headers=bearer(token))
    assert response.status_code == 200
    actions = [event.action for event in db.session.query(AuditEvent).order_by(AuditEvent.sequence)]
    assert actions == ["user.create", "token.issue", "authentication.token_used"]


def test_cli_token_for_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "nobody"])

    assert result.exit_code != 0
    assert "not found" in result.output


def test_denied_request_audited(client, tokens):
    from service.models import AuditEvent

    client.post("/api/v1/documents", headers=bearer(tokens["auditor"]))

    event = db.session.query(AuditEvent).filter_by(action="authorization.denied").one()
    assert event.outcome == "failure"
    assert event.actor_id is not None
    assert event.details["permission"] == "document:create"


def test_cli_lists_and_revokes_token(app, tokens):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["tokens", "list", "test-auditor"])
    token_id = listed.output.split("\t")[0]

    revoked = runner.invoke(args=["tokens", "revoke", token_id])
    response = app.test_client().get("/api/v1/documents", headers=bearer(tokens["auditor"]))

    assert listed.exit_code == 0, listed.output
    assert revoked.exit_code == 0, revoked.output
    assert response.status_code == 401
    event = db.session.query(AuditEvent).filter_by(action="token.revoke").one()
    assert event.details["token_id"] == int(token_id)


def test_cli_storage_init_reports_missing_store(make_app, tmp_path):
    app = make_app(embedded_s3=True, s3_endpoint=None, s3_access_key=None, s3_secret_key=None, create_bucket=False)

    result = app.test_cli_runner().invoke(args=["storage", "init"])

    assert result.exit_code == 1
    assert "start the service with ./run.sh" in result.output
