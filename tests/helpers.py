"""Helpers for API tests: sample paths, auth headers and uploads."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from flask.testing import FlaskClient

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MINUTES_PDF = SAMPLES / "minutes-2021-09-20.pdf"
EVIDENCE_JPEG = SAMPLES / "evidence-enothi-statement-2021-09-28.jpg"


def bearer(token: str, language: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if language:
        headers["Accept-Language"] = language
    return headers


def upload(client: FlaskClient, token: str, path: Path | None = None, *, data: bytes | None = None,
           filename: str | None = None, signers: dict[str, str] | None = None, **fields: str):
    """POST a file to /api/v1/documents with form fields; minutes of the sample by default.

    ``signers`` names the holders of signing roles, sent as the JSON ``signers`` field.
    """
    form: dict[str, object] = {"kind": "minutes", "title": "সভার কার্যবিবরণী"}
    form.update(fields)
    if signers is not None:
        form["signers"] = json.dumps(signers)
    form = {key: value for key, value in form.items() if value is not None}
    if path is not None or data is not None:
        content = data if data is not None else path.read_bytes()
        form["file"] = (io.BytesIO(content), filename or (path.name if path else "upload.pdf"))
    return client.post("/api/v1/documents", data=form, headers=bearer(token), content_type="multipart/form-data")


REQUIRE_TOOLS_VARIABLE = "DOLIL_TEST_REQUIRE_TOOLS"


def tools_required() -> bool:
    """Return whether a missing system tool must fail the run instead of skipping (CI sets it)."""
    return os.environ.get(REQUIRE_TOOLS_VARIABLE) == "1"


def skip_unless_required(reason: str) -> None:
    """Skip the test for a missing system tool, or fail it when tools are required."""
    if tools_required():
        pytest.fail(f"{reason} ({REQUIRE_TOOLS_VARIABLE}=1)")
    pytest.skip(reason)


def bound_credential(*, user, kind: str, location: str, secret_file: str | None = None, certificate=None):
    """A SigningCredential bound to the certificate it opens, as `flask credentials add` records it.

    The binding is ``confirmed``, as an administrator's confirmation of the holder would make it.
    ``certificate`` (asn1crypto) skips opening the credential, for one that does not open.
    """
    from service.credentials import certificate_sha256
    from service.models import SigningCredential
    from signing.credentials import load_pkcs12_signer
    from signing.pkcs11 import parse_pkcs11_uri, read_token_certificate

    if certificate is not None:
        pass
    elif kind == "pkcs12":
        certificate = load_pkcs12_signer(Path(location), Path(secret_file).read_bytes().strip()).signing_cert
    else:
        certificate = read_token_certificate(parse_pkcs11_uri(location))
    return SigningCredential(user=user, kind=kind, location=location, secret_file=secret_file,
                             certificate_sha256=certificate_sha256(certificate),
                             certificate_subject=certificate.subject.human_friendly, binding="confirmed")
