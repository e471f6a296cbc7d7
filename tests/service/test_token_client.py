"""The officer's token client against the running service: the whole two-phase flow on SoftHSM2."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

from service.auth import issue_token
from service.extensions import db
from service.models import Document, User
from tests.fixtures.softhsm import OFFICER_NAME
from tests.helpers import MINUTES_PDF, bearer, upload

CLIENT = Path(__file__).resolve().parents[2] / "tools" / "dolil_sign.py"


def test_token_client_signs_through_service(app, client, tokens, softhsm_token, tmp_path):
    certificate_path = tmp_path / "token.pem"
    certificate_path.write_bytes(softhsm_token.officer.certificate.public_bytes(serialization.Encoding.PEM))
    user = User(username="token-holder", role="officer", display_name="টোকেনধারী কর্মকর্তা")
    db.session.add(user)
    api_token = issue_token(user)
    db.session.commit()
    registered = app.test_cli_runner().invoke(args=["credentials", "add-external", "token-holder",
                                                    "--certificate", str(certificate_path),
                                                    "--confirm-holder", OFFICER_NAME])
    assert registered.exit_code == 0, registered.output
    document_id = upload(client, tokens["officer"], MINUTES_PDF,
                         signers={"member_secretary": "token-holder"}).get_json()["id"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        environment = dict(os.environ, DOLIL_TOKEN_PIN=softhsm_token.user_pin, DOLIL_API_TOKEN=api_token,
                           SOFTHSM2_CONF=str(softhsm_token.conf_path))
        result = subprocess.run(
            [sys.executable, str(CLIENT), "--url", f"http://127.0.0.1:{server.server_port}",
             "--document", document_id, "--pkcs11-lib", str(softhsm_token.library_path),
             "--token-label", softhsm_token.token_label, "--key-label", softhsm_token.key_label,
             "--chain-label", softhsm_token.intermediate_label],
            env=environment, capture_output=True, text=True, timeout=120,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)

    assert result.returncode == 0, result.stdout + result.stderr
    assert softhsm_token.user_pin not in result.stdout + result.stderr
    db.session.expire_all()
    assert db.session.get(Document, document_id).current_revision.number == 2
    content = client.get(f"/api/v1/documents/{document_id}/content", headers=bearer(tokens["auditor"]))
    assert content.headers["Dolil-Validation"] == "TOTAL_PASSED"


def test_token_client_signs_at_b_lta(make_app, softhsm_token, tsa_url, tmp_path):
    """The whole flow at B-LTA: prepare, sign on SoftHSM2, complete with DSS and document timestamp."""
    app = make_app(tsa_url=tsa_url)
    with app.app_context():
        certificate_path = tmp_path / "token.pem"
        certificate_path.write_bytes(softhsm_token.officer.certificate.public_bytes(serialization.Encoding.PEM))
        holder = User(username="token-holder", role="officer", display_name="টোকেনধারী কর্মকর্তা")
        auditor = User(username="auditor", role="auditor", display_name="নিরীক্ষক")
        db.session.add_all([holder, auditor])
        api_token = issue_token(holder)
        auditor_token = issue_token(auditor)
        db.session.commit()
        registered = app.test_cli_runner().invoke(args=["credentials", "add-external", "token-holder",
                                                        "--certificate", str(certificate_path),
                                                        "--confirm-holder", OFFICER_NAME])
        assert registered.exit_code == 0, registered.output
        client = app.test_client()
        document_id = upload(client, api_token, MINUTES_PDF, kind="evidence", title="প্রমাণক").get_json()["id"]

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            environment = dict(os.environ, DOLIL_TOKEN_PIN=softhsm_token.user_pin, DOLIL_API_TOKEN=api_token,
                               SOFTHSM2_CONF=str(softhsm_token.conf_path))
            result = subprocess.run(
                [sys.executable, str(CLIENT), "--url", f"http://127.0.0.1:{server.server_port}",
                 "--document", document_id, "--pkcs11-lib", str(softhsm_token.library_path),
                 "--token-label", softhsm_token.token_label, "--key-label", softhsm_token.key_label,
                 "--chain-label", softhsm_token.intermediate_label, "--level", "B-LTA"],
                env=environment, capture_output=True, text=True, timeout=120,
            )
        finally:
            server.shutdown()
            thread.join(timeout=10)

        assert result.returncode == 0, result.stdout + result.stderr
        db.session.expire_all()
        report = client.get(f"/api/v1/documents/{document_id}/verification", headers=bearer(auditor_token)).get_json()
        (signature,) = report["signatures"]
        assert report["indication"] == "TOTAL_PASSED"
        assert signature["level"] == "B-LTA"
        assert signature["indication"] == "TOTAL_PASSED"
        assert [entry["type"] for entry in signature["timestamps"]] == ["signature", "document"]
