"""The officer's signing client, tools/dolil_sign.py, against a stub service on 127.0.0.1.

A small WSGI application replaces the service here, so the client's own
handling (arguments, PIN prompt, token, errors) is tested without the
archive. It prepares and completes signatures with signing.external, and the
client signs with the SoftHSM2 token's key in a separate process. The tests
in tests/service/test_token_client.py and test_two_phase_stamp.py run the
client against the real service.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing.errors import SigningError
from signing.external import complete_external_signature, prepare_external_signature
from signing.sign import SigningProfile
from signing.validation import validate_pdf
from tools import dolil_sign

REPOSITORY = Path(__file__).resolve().parents[1]
CLIENT = REPOSITORY / "tools" / "dolil_sign.py"
SAMPLE_PDF = REPOSITORY / "samples" / "minutes-2021-09-20.pdf"
DOCUMENT_ID = "doc-0042"


# --- argument parsing and PIN ----------------------------------------------------


def _required_arguments(**overrides: str) -> list[str]:
    values = {
        "--url": "http://127.0.0.1:5000",
        "--document": DOCUMENT_ID,
        "--pkcs11-lib": "/usr/lib/softhsm/libsofthsm2.so",
        "--token-label": "officer-token",
        "--key-label": "signing-key",
    }
    values.update(overrides)
    return [item for pair in values.items() for item in pair]


def test_parser_reads_arguments():
    arguments = dolil_sign.build_parser().parse_args(
        _required_arguments()
        + ["--token", "api-token", "--cert-label", "signing-cert", "--chain-label", "ca-1", "--chain-label", "ca-2"]
    )

    assert arguments.url == "http://127.0.0.1:5000"
    assert arguments.token == "api-token"
    assert arguments.document == DOCUMENT_ID
    assert arguments.pkcs11_lib == Path("/usr/lib/softhsm/libsofthsm2.so")
    assert arguments.token_label == "officer-token"
    assert arguments.key_label == "signing-key"
    assert arguments.cert_label == "signing-cert"
    assert arguments.chain_label == ["ca-1", "ca-2"]
    assert arguments.timeout == dolil_sign.DEFAULT_TIMEOUT_SECONDS


@pytest.mark.parametrize("missing", ["--url", "--document", "--pkcs11-lib", "--token-label", "--key-label"])
def test_parser_requires_argument(missing, capsys):
    arguments = _required_arguments()
    position = arguments.index(missing)
    del arguments[position : position + 2]

    with pytest.raises(SystemExit) as caught:
        dolil_sign.build_parser().parse_args(arguments)

    assert caught.value.code == dolil_sign.EXIT_USAGE
    assert missing in capsys.readouterr().err


def test_pin_argument_rejected(capsys):
    with pytest.raises(SystemExit) as caught:
        dolil_sign.main(_required_arguments() + ["--pin", "123456"], environ={})

    assert caught.value.code == dolil_sign.EXIT_USAGE
    output = capsys.readouterr()
    assert "123456" not in output.out
    assert "123456" not in output.err
    assert "DOLIL_TOKEN_PIN" in output.err
    assert "--pin" not in dolil_sign.build_parser().format_help()


@pytest.mark.parametrize("extra", [["--verbose", "654321"], ["--pin=654321"], ["654321"]])
def test_unknown_argument_values_not_echoed(extra, capsys):
    with pytest.raises(SystemExit) as caught:
        dolil_sign.main(_required_arguments() + extra, environ={})

    assert caught.value.code == dolil_sign.EXIT_USAGE
    assert "654321" not in capsys.readouterr().err


def test_stamp_options_sent_with_visible():
    arguments = dolil_sign.build_parser().parse_args(
        _required_arguments() + ["--visible", "--page", "3", "--box", "360,490,530,560"]
    )

    assert dolil_sign.stamp_options(arguments) == {"visible": True, "page": 3, "box": [360.0, 490.0, 530.0, 560.0]}


def test_no_stamp_options_without_visible():
    arguments = dolil_sign.build_parser().parse_args(_required_arguments())

    assert dolil_sign.stamp_options(arguments) == {}


@pytest.mark.parametrize("extra", [["--page", "2"], ["--box", "1,2,3,4"], ["--visible", "--page", "0"]])
def test_stamp_placement_needs_visible_page(extra):
    arguments = dolil_sign.build_parser().parse_args(_required_arguments() + extra)

    with pytest.raises(dolil_sign.UsageError):
        dolil_sign.stamp_options(arguments)


@pytest.mark.parametrize("box", ["1,2,3", "a,b,c,d"])
def test_malformed_box_rejected(box, capsys):
    with pytest.raises(SystemExit):
        dolil_sign.build_parser().parse_args(_required_arguments() + ["--visible", "--box", box])

    assert "x1,y1,x2,y2" in capsys.readouterr().err


def test_pin_read_from_environment():
    assert dolil_sign.read_pin({"DOLIL_TOKEN_PIN": "secret-pin"}, "officer-token") == "secret-pin"


def test_pin_without_terminal_rejected(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO())

    with pytest.raises(dolil_sign.UsageError) as caught:
        dolil_sign.read_pin({}, "officer-token")

    assert "DOLIL_TOKEN_PIN" in str(caught.value)


def test_empty_pin_rejected():
    with pytest.raises(dolil_sign.UsageError):
        dolil_sign.read_pin({"DOLIL_TOKEN_PIN": ""}, "officer-token")


def test_missing_api_token_rejected(capsys):
    code = dolil_sign.main(_required_arguments(), environ={"DOLIL_TOKEN_PIN": "secret-pin"})

    assert code == dolil_sign.EXIT_USAGE
    assert "DOLIL_API_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000", "https://dolil.invalid"],
)
def test_service_url_accepted(url):
    assert dolil_sign.check_service_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://dolil.invalid", "ftp://127.0.0.1/", "127.0.0.1:5000", "https://dolil.invalid/?next=x"],
)
def test_service_url_rejected(url):
    with pytest.raises(dolil_sign.UsageError):
        dolil_sign.check_service_url(url)


def test_bare_digest_not_signed():
    digest = hashlib.sha256(b"anything").digest()

    with pytest.raises(dolil_sign.SignedAttributesRejected):
        dolil_sign.check_signed_attributes(b"\x04\x20" + digest, b"certificate")


# --- stub service ----------------------------------------------------------------


@dataclass
class StubService:
    """WSGI stand-in for the two signature endpoints of one document."""

    document: bytes
    api_token: str
    prepare_certificates: list[bytes] | None = None
    """Prepare for these DER certificates instead of the presented ones."""
    prepare_problem: tuple[str, dict] | None = None
    """Status line and problem-details body returned for the prepare request."""
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    states: dict[str, bytes] = field(default_factory=dict)
    signed: bytes | None = None

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        headers = {key: value for key, value in environ.items() if key.startswith("HTTP_") or key.startswith("CONTENT_")}
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.requests.append((path, headers, body))

        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.api_token}":
            return self._respond(start_response, "401 Unauthorized", {"title": "Unauthorized"})
        prefix = f"/api/v1/documents/{DOCUMENT_ID}/signatures/"
        if environ["REQUEST_METHOD"] != "POST" or not path.startswith(prefix):
            return self._respond(start_response, "404 Not Found", {"title": "Not Found"})
        request = json.loads(body)
        if path == prefix + "prepare":
            if self.prepare_problem is not None:
                return self._respond(start_response, *self.prepare_problem)
            return self._respond(start_response, "200 OK", self._prepare(request))
        if path == prefix + "complete":
            try:
                return self._respond(start_response, "200 OK", self._complete(request))
            except SigningError as exc:
                return self._respond(
                    start_response, "422 Unprocessable Content", {"title": "Signature rejected", "detail": str(exc)}
                )
        return self._respond(start_response, "404 Not Found", {"title": "Not Found"})

    def _prepare(self, request: dict) -> dict:
        certificates = self.prepare_certificates or [base64.b64decode(value) for value in request["certificates"]]
        signer, *chain = (asn1_x509.Certificate.load(der) for der in certificates)
        prepared = prepare_external_signature(self.document, signer, chain, SigningProfile())
        handle = secrets.token_urlsafe(16)
        self.states[handle] = prepared.state
        return {
            "handle": handle,
            "signed_attributes": base64.b64encode(prepared.signed_attributes_der).decode("ascii"),
            "digest_algorithm": prepared.digest_algorithm,
            "signature_mechanism": prepared.signature_mechanism,
        }

    def _complete(self, request: dict) -> dict:
        state = self.states.pop(request["handle"])
        self.signed = complete_external_signature(
            state,
            base64.b64decode(request["signature_value"]),
            presented_certificates=[base64.b64decode(value) for value in request["certificates"]],
        )
        return {"document": DOCUMENT_ID, "sha256": hashlib.sha256(self.signed).hexdigest()}

    @staticmethod
    def _respond(start_response, status: str, body: dict):
        payload = json.dumps(body).encode("utf-8")
        content_type = "application/json" if status.startswith("200") else "application/problem+json"
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
        return [payload]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    """Serve WSGI applications on 127.0.0.1 and return their base URLs. The servers stop after the test."""
    servers = []

    def start(application) -> str:
        server = make_server("127.0.0.1", 0, application, handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="stub-dolil-service", daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start

    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def api_token() -> str:
    return f"api-{secrets.token_hex(8)}"


def _run_client(softhsm_token, url: str, environment: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    arguments = [
        sys.executable,
        str(CLIENT),
        "--url", url,
        "--document", DOCUMENT_ID,
        "--pkcs11-lib", str(softhsm_token.library_path),
        "--token-label", softhsm_token.token_label,
        "--key-label", softhsm_token.key_label,
        "--chain-label", softhsm_token.intermediate_label,
        *extra,
    ]  # fmt: skip
    # The test process has SOFTHSM2_CONF pointing at the session's token directory.
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOLIL_")}
    env.update(environment)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    return subprocess.run(
        arguments, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
    )


def _assert_pin_not_disclosed(pin: str, result: subprocess.CompletedProcess, service: StubService) -> None:
    assert pin not in result.stdout
    assert pin not in result.stderr
    for _, headers, body in service.requests:
        assert pin not in json.dumps(headers)
        assert pin.encode() not in body


def test_client_signs_document(softhsm_token, serve, api_token, dev_policy):
    sample = SAMPLE_PDF.read_bytes()
    service = StubService(document=sample, api_token=api_token)
    url = serve(service)

    result = _run_client(
        softhsm_token, url, {"DOLIL_TOKEN_PIN": softhsm_token.user_pin, "DOLIL_API_TOKEN": api_token}
    )

    assert result.returncode == dolil_sign.EXIT_OK, result.stderr
    assert [path.rsplit("/", 1)[-1] for path, _, _ in service.requests] == ["prepare", "complete"]
    assert service.signed is not None
    assert json.loads(result.stdout) == {"document": DOCUMENT_ID, "sha256": hashlib.sha256(service.signed).hexdigest()}
    assert "Dolil Token Officer" in result.stderr
    _assert_pin_not_disclosed(softhsm_token.user_pin, result, service)

    # The client sent the token's certificate and the intermediate CA, signer first.
    prepare_request = json.loads(service.requests[0][2])
    presented = [base64.b64decode(value) for value in prepare_request["certificates"]]
    assert presented[0] == softhsm_token.officer.asn1_certificate.dump()
    assert len(presented) == 2

    assert service.signed.startswith(sample)
    report = validate_pdf(service.signed, dev_policy)
    assert report.indication == "TOTAL_PASSED"


def test_client_takes_api_token_argument(softhsm_token, serve, api_token):
    service = StubService(document=SAMPLE_PDF.read_bytes(), api_token=api_token)
    url = serve(service)

    result = _run_client(softhsm_token, url, {"DOLIL_TOKEN_PIN": softhsm_token.user_pin}, "--token", api_token)

    assert result.returncode == dolil_sign.EXIT_OK, result.stderr
    assert service.signed is not None


def test_client_wrong_pin(softhsm_token, serve, api_token):
    service = StubService(document=SAMPLE_PDF.read_bytes(), api_token=api_token)
    url = serve(service)
    wrong_pin = "wrong-" + softhsm_token.user_pin

    result = _run_client(softhsm_token, url, {"DOLIL_TOKEN_PIN": wrong_pin, "DOLIL_API_TOKEN": api_token})

    assert result.returncode == dolil_sign.EXIT_TOKEN_ERROR
    assert "rejected the PIN" in result.stderr
    assert service.requests == []
    _assert_pin_not_disclosed(wrong_pin, result, service)


def test_client_without_pin_source(softhsm_token, serve, api_token):
    service = StubService(document=SAMPLE_PDF.read_bytes(), api_token=api_token)
    url = serve(service)

    result = _run_client(softhsm_token, url, {"DOLIL_API_TOKEN": api_token})

    assert result.returncode == dolil_sign.EXIT_USAGE
    assert "DOLIL_TOKEN_PIN" in result.stderr
    assert service.requests == []


def test_client_reports_service_problem(softhsm_token, serve, api_token):
    problem = {"title": "Document already signed", "detail": "Revision 3 carries a signature by this officer."}
    service = StubService(
        document=SAMPLE_PDF.read_bytes(), api_token=api_token, prepare_problem=("409 Conflict", problem)
    )
    url = serve(service)

    result = _run_client(
        softhsm_token, url, {"DOLIL_TOKEN_PIN": softhsm_token.user_pin, "DOLIL_API_TOKEN": api_token}
    )

    assert result.returncode == dolil_sign.EXIT_SERVICE_ERROR
    assert "HTTP 409" in result.stderr
    assert "Document already signed" in result.stderr
    assert len(service.requests) == 1


def test_client_rejects_other_certificate_attributes(softhsm_token, serve, api_token, officer_signer):
    service = StubService(
        document=SAMPLE_PDF.read_bytes(),
        api_token=api_token,
        prepare_certificates=[officer_signer.signing_cert.dump()],
    )
    url = serve(service)

    result = _run_client(
        softhsm_token, url, {"DOLIL_TOKEN_PIN": softhsm_token.user_pin, "DOLIL_API_TOKEN": api_token}
    )

    assert result.returncode == dolil_sign.EXIT_REJECTED
    assert "another certificate" in result.stderr
    assert [path.rsplit("/", 1)[-1] for path, _, _ in service.requests] == ["prepare"]


def test_sign_prepared_accepts_pkcs11_settings(softhsm_token):
    sample = SAMPLE_PDF.read_bytes()
    officer = softhsm_token.officer
    prepared = prepare_external_signature(
        sample,
        officer.asn1_certificate,
        [asn1_x509.Certificate.load(officer.chain[0].public_bytes(Encoding.DER))],
        SigningProfile(),
    )

    signature_value, certificates = dolil_sign.sign_prepared(
        prepared.signed_attributes_der, softhsm_token.settings(), softhsm_token.user_pin
    )

    assert len(certificates) == 2
    signed = complete_external_signature(prepared.state, signature_value, presented_certificates=certificates)
    assert signed.startswith(sample)
