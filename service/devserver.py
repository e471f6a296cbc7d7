"""Run Dolil on the embedded development setup: ``python -m service.devserver``.

Everything lives under the data directory (``var/`` by default): the SQLite
database, SeaweedFS's data and generated S3 credentials, and the development
PKI. The first start creates them, later starts reuse them. Stopping the
server (Ctrl-C or SIGTERM) stops SeaweedFS too.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

from config import ConfigurationError, Settings, settings_from_env

from .components import EMBEDDED_CREDENTIALS_FILE, EMBEDDED_ENDPOINT_FILE

log = logging.getLogger("service.devserver")

# Username, role, name, designation and office. Names are Bengali because the
# visible signature stamp's font has Bengali letters only.
DEV_USERS = (
    ("officer", "officer", "উন্নয়ন কর্মকর্তা", "সহকারী নিয়ন্ত্রক", "সিসিএ কার্যালয় (উন্নয়ন)"),
    ("chair", "officer", "উন্নয়ন সভাপতি", "পরিচালক", "সিসিএ কার্যালয় (উন্নয়ন)"),
    ("auditor", "auditor", "উন্নয়ন নিরীক্ষক", "নিরীক্ষক", "সিসিএ কার্যালয় (উন্নয়ন)"),
)

# The chair co-signs minutes after the member secretary ("officer"), so it has
# a certificate of its own from the development intermediate CA.
CHAIR_COMMON_NAME = "Dolil Development Chair"


def _read_or_create_json(path: Path, create) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    values = create()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(values, handle)
    return values


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


# The settings the development server chose for itself, kept in its data
# directory so that `flask --app service ...` commands run against the same
# setup (see recorded_dev_settings).
DEV_SETTINGS_FILE = "dev-settings.json"


def recorded_dev_settings(data_dir: Path, environ=os.environ) -> dict[str, object]:
    """Return the settings that the development server recorded in ``data_dir``.

    Settings whose ``DOLIL_*`` variable is set now are left out, so the
    environment still wins. Returns an empty dict where the development server
    never ran.
    """
    path = data_dir / DEV_SETTINGS_FILE
    if not path.exists():
        return {}
    recorded = json.loads(path.read_text())
    return {name: value for name, value in recorded.items() if "DOLIL_" + name.upper() not in environ}


def _dev_settings() -> Settings:
    overrides: dict[str, object] = {}
    # The development PKI publishes no CRL or OCSP, so hard-fail would leave
    # every signature INDETERMINATE; reports still state that revocation was not checked.
    if "DOLIL_REVOCATION_MODE" not in os.environ:
        overrides["revocation_mode"] = "soft-fail"
    if "DOLIL_RETENTION_MODE" not in os.environ:
        # GOVERNANCE lets a developer clear test data with the bypass permission;
        # production keeps the COMPLIANCE default.
        overrides["retention_mode"] = "GOVERNANCE"
    if "DOLIL_VALIDATION_POLICY_NAME" not in os.environ:
        overrides["validation_policy_name"] = "development"
    settings = settings_from_env(env="development", embedded_s3=True, dev_pki=True, **overrides)
    recorded = {"env": "development", "embedded_s3": True, "dev_pki": True, **overrides}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / DEV_SETTINGS_FILE).write_text(json.dumps(recorded, indent=2) + "\n")
    if "DOLIL_SECRET_KEY" not in os.environ:
        # Not recorded: the commands need no session key.
        settings = settings.replace(secret_key="development-only")
    return settings


def _ensure_dev_accounts(app, pki) -> dict[str, str]:
    from .auth import hash_token, issue_token
    from .extensions import db
    from .credentials import development_credential
    from .models import ApiToken, SigningCredential, User

    settings: Settings = app.config["DOLIL_SETTINGS"]
    tokens_path = settings.data_dir / "dev-tokens.json"
    tokens: dict[str, str] = json.loads(tokens_path.read_text()) if tokens_path.exists() else {}

    for username, role, display_name, designation, office in DEV_USERS:
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = User(username=username, role=role)
            db.session.add(user)
        # Development accounts always carry the current names, so data made by
        # an older version still renders stamps.
        user.display_name, user.designation, user.office = display_name, designation, office
        db.session.flush()
        token = tokens.get(username)
        known = token and db.session.execute(
            db.select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        ).scalar_one_or_none()
        if not known:
            tokens[username] = issue_token(user, label="development")

    for username in ("officer", "chair"):
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        credentials = db.session.execute(
            db.select(SigningCredential).where(SigningCredential.user_id == user.id, SigningCredential.active.is_(True))
        ).scalars().all()
        if not any(credential.certificate_sha256 for credential in credentials):
            # A credential stored before certificate bindings existed cannot sign any more.
            for credential in credentials:
                credential.active = False
            if username == "officer":
                db.session.add(development_credential(user, pki))
            else:
                p12_path, passphrase_path = _ensure_chair_pkcs12(pki)
                db.session.add(development_credential(user, pki, p12_path, passphrase_path))
    db.session.commit()

    _write_private_json(tokens_path, tokens)
    return tokens


def _write_private_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to a file only its owner may read (mode 0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle)


def _ensure_dev_passwords(app) -> dict[str, str]:
    """Give each development account a random password for the web pages, kept in var/dev-passwords.json.

    A password that the file has and the account still accepts is reused; any
    other account gets a new one.
    """
    from .extensions import db
    from .models import User
    from .passwords import set_password, verify_password

    settings: Settings = app.config["DOLIL_SETTINGS"]
    passwords_path = settings.data_dir / "dev-passwords.json"
    passwords: dict[str, str] = json.loads(passwords_path.read_text()) if passwords_path.exists() else {}
    for username, *_ in DEV_USERS:
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        password = passwords.get(username)
        if not password or not verify_password(user, password):
            password = secrets.token_urlsafe(12)
            set_password(user, password)
            passwords[username] = password
    db.session.commit()

    _write_private_json(passwords_path, passwords)
    return passwords


def _ensure_chair_pkcs12(pki) -> tuple[Path, Path]:
    """Issue the chair's certificate into a PKCS#12 file beside the officer's, once."""
    from signing.devpki import issue_certificate

    private_dir = pki.officer_p12_path.parent
    p12_path, passphrase_path = private_dir / "chair.p12", private_dir / "chair-passphrase.txt"
    if not p12_path.exists() or not passphrase_path.exists():
        passphrase = secrets.token_urlsafe(24).encode()
        issued = issue_certificate(pki, CHAIR_COMMON_NAME)
        for path, content in ((passphrase_path, passphrase), (p12_path, issued.to_pkcs12(passphrase))):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
    return p12_path, passphrase_path


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from signing.devpki import ensure_dev_pki
    from storage.seaweedfs import EmbeddedSeaweedFS

    from . import create_app

    try:
        settings = _dev_settings()
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    port = int(os.environ.get("DOLIL_DEV_PORT", "5000"))
    s3_port = int(os.environ.get("DOLIL_DEV_S3_PORT", "8333"))
    for name, value in (("DOLIL_DEV_PORT", port), ("DOLIL_DEV_S3_PORT", s3_port)):
        if _port_in_use(value):
            print(f"port {value} on 127.0.0.1 is in use: stop what listens there or set {name}", file=sys.stderr)
            return 2

    data_dir = settings.data_dir
    pki = ensure_dev_pki(data_dir / "pki")
    credentials = _read_or_create_json(
        data_dir / "seaweedfs" / EMBEDDED_CREDENTIALS_FILE,
        lambda: {"access_key": "dolil" + secrets.token_hex(8), "secret_key": secrets.token_urlsafe(32)},
    )
    seaweed = EmbeddedSeaweedFS(
        data_dir / "seaweedfs" / "data",
        access_key=credentials["access_key"],
        secret_key=credentials["secret_key"],
        s3_port=s3_port,
        log_dir=data_dir / "seaweedfs" / "logs",
    )

    # SIGTERM ends the server like Ctrl-C, so the finally block stops SeaweedFS.
    # SIGINT is set explicitly because a shell that starts a background job
    # makes it ignore SIGINT, and then `kill -INT` would do nothing.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # The service logs one line per request itself.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    seaweed.start()
    endpoint_path = data_dir / "seaweedfs" / EMBEDDED_ENDPOINT_FILE
    endpoint_path.write_text(json.dumps({"endpoint": seaweed.endpoint}))
    try:
        app = create_app(settings.replace(
            s3_endpoint=seaweed.endpoint,
            s3_access_key=credentials["access_key"],
            s3_secret_key=credentials["secret_key"],
        ))
        with app.app_context():
            upgrade()
            app.extensions["dolil"].store.ensure_bucket()
            tokens = _ensure_dev_accounts(app, pki)
            passwords = _ensure_dev_passwords(app)

        # Bind before printing the banner, so the printed URL already accepts requests.
        server = make_server("127.0.0.1", port, app, threaded=True)
        url = f"http://127.0.0.1:{port}"
        print(
            "\nDolil is running (development setup; data in {data})\n"
            "  URL:            {url}\n"
            "  officer token:  {officer}\n"
            "  chair token:    {chair}\n"
            "  auditor token:  {auditor}\n"
            "  web pages:      {url}/sign-in as officer / {officer_password}, chair / {chair_password},\n"
            "                  auditor / {auditor_password}\n"
            "  object store:   SeaweedFS S3 on {s3}\n"
            "Stop with Ctrl-C.\n".format(data=data_dir, url=url, officer=tokens["officer"],
                                          chair=tokens["chair"], auditor=tokens["auditor"], s3=seaweed.endpoint,
                                          officer_password=passwords["officer"], chair_password=passwords["chair"],
                                          auditor_password=passwords["auditor"]),
            flush=True,
        )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping SeaweedFS", flush=True)
        endpoint_path.unlink(missing_ok=True)
        seaweed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
