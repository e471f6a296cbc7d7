"""Liveness and readiness probes against the real database and bucket."""

from __future__ import annotations

from service.extensions import db


def test_healthz_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {
        "database": {"status": "ok"},
        "migrations": {"status": "ok"},
        "bucket": {"status": "ok"},
    }


def test_readyz_missing_bucket_fails(make_app, make_bucket_name):
    app = make_app(s3_bucket=make_bucket_name(), create_bucket=False)
    with app.app_context():
        response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failed"
    assert body["checks"]["bucket"]["status"] == "failed"
    assert body["checks"]["database"]["status"] == "ok"


def test_readyz_unreachable_store_fails(make_app, unused_port):
    app = make_app(s3_endpoint=f"127.0.0.1:{unused_port}", create_bucket=False)
    with app.app_context():
        response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["bucket"]["status"] == "failed"


def test_readyz_unmigrated_database_fails(app, client):
    db.session.execute(db.text("UPDATE alembic_version SET version_num = 'not-a-revision'"))
    db.session.commit()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"]["status"] == "failed"


def test_store_outage_answers_503_retry_after(make_app, unused_port, tokens):
    from tests.helpers import MINUTES_PDF, upload

    app = make_app(s3_endpoint=f"127.0.0.1:{unused_port}", create_bucket=False)
    with app.app_context():
        response = upload(app.test_client(), tokens["officer"], MINUTES_PDF)

    assert response.status_code == 503
    assert response.get_json()["code"] == "storage_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_database_outage_answers_503_retry_after(make_app, tokens, tmp_path):
    from tests.helpers import bearer

    app = make_app(database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'no.sqlite3'}", create_bucket=False)
    with app.app_context():
        response = app.test_client().get("/api/v1/documents", headers=bearer(tokens["auditor"]))

    assert response.status_code == 503
    assert response.get_json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
