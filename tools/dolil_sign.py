#!/usr/bin/env python3
"""Sign a Dolil document with the key on the officer's own PKCS#11 token.

The service prepares the signature and returns the CMS signed attributes. This
program checks that they name the token's certificate, signs them on the token
(RSASSA-PKCS1-v1_5 over SHA-256, mechanism CKM_SHA256_RSA_PKCS) and sends the
signature value with the token's certificates back to the service::

    POST {url}/api/v1/documents/{id}/signatures/prepare
        request  {"certificates": [base64 DER, signer first],
                  optional "level", "visible", "page", "box"}
        response {"handle", "signed_attributes" (base64 DER),
                  "digest_algorithm", "signature_mechanism"}
    POST {url}/api/v1/documents/{id}/signatures/complete
        request  {"handle", "signature_value" (base64),
                  "certificates": [base64 DER, signer first]}

The private key stays on the token. The PIN is read from the environment
variable DOLIL_TOKEN_PIN or, when it is unset, from a prompt on the terminal.
It is never accepted as an argument and never printed. The API token comes
from --token or the environment variable DOLIL_API_TOKEN.

Needs Python 3.11 and python-pkcs11 (which brings asn1crypto). It imports no
Dolil code, so the file can be copied to the officer's machine alone.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import hashlib
import ipaddress
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("dolil_sign")

PIN_VARIABLE = "DOLIL_TOKEN_PIN"
API_TOKEN_VARIABLE = "DOLIL_API_TOKEN"

DIGEST_ALGORITHM = "sha256"
SIGNATURE_MECHANISM = "sha256_rsa"
"""The only mechanism this client signs with: RSASSA-PKCS1-v1_5 with SHA-256 (asn1crypto name)."""

DEFAULT_TIMEOUT_SECONDS = 30.0

EXIT_OK = 0
EXIT_SERVICE_ERROR = 1
EXIT_USAGE = 2
EXIT_TOKEN_ERROR = 3
EXIT_REJECTED = 4

_LOOPBACK_NAMES = frozenset({"localhost"})


class ClientError(Exception):
    """Root of the errors of this client. The message is meant for the officer."""

    exit_code = EXIT_SERVICE_ERROR


class UsageError(ClientError):
    """An argument, the URL or the PIN source is invalid."""

    exit_code = EXIT_USAGE


class TokenError(ClientError):
    """The PKCS#11 module, token, key or certificate cannot be used."""

    exit_code = EXIT_TOKEN_ERROR


class SignedAttributesRejected(ClientError):
    """The data the service asked to sign are not signed attributes for the token's certificate."""

    exit_code = EXIT_REJECTED


class ServiceError(ClientError):
    """The service rejected a request or could not be reached. ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TokenSettings:
    """Location of the signing key on a PKCS#11 token. The PIN is not part of the settings.

    The field names match ``signing.pkcs11.Pkcs11Settings``, so an object of
    that class works wherever these settings are expected.
    """

    library_path: Path
    """PKCS#11 module, e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""
    token_label: str
    key_label: str
    """CKA_LABEL of the private key."""
    cert_label: str | None = None
    """CKA_LABEL of the signer's certificate. None means the same label as the key."""
    chain_cert_labels: tuple[str, ...] = field(default=())
    """CKA_LABELs of CA certificates to send with the signer's certificate, intermediate first."""


# --- token -----------------------------------------------------------------------


class TokenKey:
    """A logged-in private key with its certificate and chain, valid inside :func:`open_token_key`."""

    def __init__(self, key: Any, certificate: bytes, chain: tuple[bytes, ...]) -> None:
        self._key = key
        self.certificate = certificate
        """DER of the signer's certificate."""
        self.chain = chain
        """DER of the chain certificates, in the order of the settings."""

    @property
    def certificates(self) -> list[bytes]:
        """The signer's certificate followed by the chain, as the service expects them."""
        return [self.certificate, *self.chain]

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with RSASSA-PKCS1-v1_5 over SHA-256. The token computes the digest itself."""
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11_errors

        try:
            return bytes(self._key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
        except p11_errors.PKCS11Error as exc:
            raise TokenError(f"the token failed to sign: {type(exc).__name__}") from exc


@contextmanager
def open_token_key(settings: Any, pin: str) -> Iterator[TokenKey]:
    """Log in to the token and yield the configured key. The session is closed when the block ends.

    ``settings`` is a :class:`TokenSettings` or any object with the same
    attributes. Raises :class:`TokenError` when the module, token, key or a
    certificate is missing, the PIN is rejected, or the key is not the RSA key
    of the signer's certificate.
    """
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11 import exceptions as p11_errors

    library_path = Path(settings.library_path)
    token_label = settings.token_label
    if not library_path.is_file():
        raise TokenError(f"PKCS#11 module {library_path} does not exist")
    try:
        # python-pkcs11 keeps one initialised module per path string, so the
        # resolved path lets a symlink and its target share it.
        library = pkcs11.lib(str(library_path.resolve()))
        token = library.get_token(token_label=token_label)
    except p11_errors.NoSuchToken:
        raise TokenError(f"no token labelled {token_label!r} in {library_path}. Is the token plugged in?") from None
    except p11_errors.MultipleTokensReturned:
        raise TokenError(f"several tokens are labelled {token_label!r}. Plug in only one") from None
    except (p11_errors.PKCS11Error, RuntimeError, OSError) as exc:
        raise TokenError(f"PKCS#11 module {library_path} failed: {type(exc).__name__}: {exc}") from exc

    try:
        session = token.open(user_pin=pin)
    except (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange):
        # The PKCS#11 exception carries only the return value, never the PIN.
        raise TokenError(f"token {token_label!r} rejected the PIN") from None
    except (p11_errors.PinLocked, p11_errors.PinExpired) as exc:
        raise TokenError(
            f"the PIN of token {token_label!r} is locked or expired ({type(exc).__name__}). "
            "Ask the security officer to reset it"
        ) from None
    except p11_errors.PKCS11Error as exc:
        raise TokenError(f"login to token {token_label!r} failed: {type(exc).__name__}") from exc

    try:
        key = _find_object(session, ObjectClass.PRIVATE_KEY, settings.key_label, token_label)
        cert_label = settings.cert_label or settings.key_label
        certificate = bytes(_find_object(session, ObjectClass.CERTIFICATE, cert_label, token_label)[Attribute.VALUE])
        chain = tuple(
            bytes(_find_object(session, ObjectClass.CERTIFICATE, label, token_label)[Attribute.VALUE])
            for label in settings.chain_cert_labels
        )
        _check_key_matches(key, certificate, settings.key_label, cert_label)
        yield TokenKey(key, certificate, chain)
    except p11_errors.PKCS11Error as exc:
        raise TokenError(f"reading from token {token_label!r} failed: {type(exc).__name__}") from exc
    finally:
        try:
            session.close()
        except p11_errors.PKCS11Error as exc:
            logger.warning("closing the session on token %r failed: %s", token_label, type(exc).__name__)


def _find_object(session: Any, object_class: Any, label: str, token_label: str) -> Any:
    from pkcs11 import Attribute, ObjectClass

    kind = "private key" if object_class == ObjectClass.PRIVATE_KEY else "certificate"
    found = list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))
    if not found:
        raise TokenError(f"no {kind} labelled {label!r} on token {token_label!r}")
    if len(found) > 1:
        raise TokenError(f"{len(found)} objects of class {kind} are labelled {label!r} on token {token_label!r}")
    return found[0]


def _check_key_matches(key: Any, certificate_der: bytes, key_label: str, cert_label: str) -> None:
    """Raise TokenError unless the key is RSA and its modulus is the certificate's."""
    from asn1crypto import x509 as asn1_x509
    from pkcs11 import Attribute, KeyType
    from pkcs11 import exceptions as p11_errors

    public_key = asn1_x509.Certificate.load(certificate_der).public_key
    if key.key_type != KeyType.RSA or public_key.algorithm != "rsa":
        raise TokenError(
            f"key {key_label!r} is {key.key_type.name} and certificate {cert_label!r} has a "
            f"{public_key.algorithm} key: this client signs only with RSA keys"
        )
    try:
        modulus = int.from_bytes(key[Attribute.MODULUS], "big")
    except p11_errors.PKCS11Error:
        # Some tokens hide the public components of the private key object. The
        # service verifies the signature value with the certificate anyway.
        logger.info("token does not expose the modulus of key %r, so it was not compared", key_label)
        return
    if modulus != public_key["public_key"].parsed["modulus"].native:
        raise TokenError(f"key {key_label!r} does not belong to certificate {cert_label!r}")


# --- signed attributes -----------------------------------------------------------


def check_signed_attributes(signed_attributes: bytes, certificate: bytes) -> bytes:
    """Return the message digest if ``signed_attributes`` are PAdES signed attributes naming ``certificate``.

    A PAdES signature's signed attributes contain content-type ``data``, a
    SHA-256 message-digest and an ESS signing-certificate-v2 whose first entry
    is the SHA-256 of the signer's certificate. Anything else (a bare digest, a
    certificate request, attributes for another certificate) raises
    :class:`SignedAttributesRejected`, so the key never signs data of another kind.
    """
    from asn1crypto import cms, tsp  # noqa: F401  (tsp registers signing_certificate_v2)

    try:
        parsed = cms.CMSAttributes.load(signed_attributes, strict=True)
        attributes = {attribute["type"].native: attribute["values"] for attribute in parsed}
        content_type = attributes["content_type"][0].native
        message_digest = attributes["message_digest"][0].native
        certificate_id = attributes["signing_certificate_v2"][0]["certs"][0]
        hash_algorithm = certificate_id["hash_algorithm"]["algorithm"].native
        certificate_hash = certificate_id["cert_hash"].native
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SignedAttributesRejected(
            f"the service sent data that are not CMS signed attributes of a PAdES signature ({exc!r})"
        ) from exc
    if content_type != "data":
        raise SignedAttributesRejected(f"the signed attributes have content type {content_type!r}, expected 'data'")
    if not isinstance(message_digest, bytes) or len(message_digest) != hashlib.sha256().digest_size:
        raise SignedAttributesRejected("the message-digest attribute is not a SHA-256 digest")
    if hash_algorithm != "sha256" or certificate_hash != hashlib.sha256(certificate).digest():
        raise SignedAttributesRejected(
            "the signed attributes name another certificate than the one on the token"
        )
    return message_digest


def sign_prepared(signed_attributes: bytes, settings: Any, pin: str) -> tuple[bytes, list[bytes]]:
    """Sign prepared signed attributes on the token and return the signature value and certificates.

    The certificates are DER, the signer's first. Raises :class:`TokenError` or
    :class:`SignedAttributesRejected`.
    """
    with open_token_key(settings, pin) as key:
        check_signed_attributes(signed_attributes, key.certificate)
        return key.sign(signed_attributes), key.certificates


# --- service ---------------------------------------------------------------------


class _RejectRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an HTTPError, so the API token is never sent to another URL."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


def check_service_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise UsageError.

    The URL must be https, or http to a loopback address, because the API token
    travels in a request header.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"--url {url!r} must be an http or https URL with a host name")
    if parsed.query or parsed.fragment:
        raise UsageError(f"--url {url!r} must not contain a query or fragment")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise UsageError(f"--url {url!r} uses plain http to another host: use https, which protects the API token")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceClient:
    """Client of the two signature endpoints of a document, authenticated with a bearer token."""

    def __init__(self, base_url: str, api_token: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._base_url = check_service_url(base_url)
        self._api_token = api_token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_RejectRedirects())

    def prepare(self, document_id: str, certificates: Sequence[bytes], level: str | None = None,
                stamp: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Request signed attributes for the document and return the checked response.

        ``level`` is the PAdES level to produce; None leaves the choice to the service.
        ``stamp`` holds the request's stamp members (``visible``, ``page``, ``box``);
        the service draws the stamp into the document before it computes the digest.
        """
        body: dict[str, Any] = {"certificates": [_b64(cert) for cert in certificates]}
        if level is not None:
            body["level"] = level
        body.update(stamp or {})
        response = self._post(document_id, "prepare", body)
        for name in ("handle", "signed_attributes", "digest_algorithm", "signature_mechanism"):
            if not isinstance(response.get(name), str) or not response[name]:
                raise ServiceError(f"the prepare response has no {name!r} string")
        if response["digest_algorithm"] != DIGEST_ALGORITHM or response["signature_mechanism"] != SIGNATURE_MECHANISM:
            raise ServiceError(
                f"the service requests {response['signature_mechanism']} with {response['digest_algorithm']}, "
                f"but this client signs only {SIGNATURE_MECHANISM} with {DIGEST_ALGORITHM}"
            )
        try:
            response["signed_attributes"] = base64.b64decode(response["signed_attributes"], validate=True)
        except binascii.Error as exc:
            raise ServiceError(f"signed_attributes in the prepare response is not base64: {exc}") from exc
        return response

    def complete(
        self, document_id: str, handle: str, signature_value: bytes, certificates: Sequence[bytes]
    ) -> dict[str, Any]:
        """Send the signature value and return the service's response."""
        body = {
            "handle": handle,
            "signature_value": _b64(signature_value),
            "certificates": [_b64(cert) for cert in certificates],
        }
        return self._post(document_id, "complete", body)

    def _post(self, document_id: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self._base_url}/api/v1/documents/{urllib.parse.quote(document_id, safe='')}/signatures/{action}"
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"{action} failed: {_describe_http_error(exc)}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceError(f"{action} failed: cannot reach {self._base_url}: {reason}") from None
        try:
            decoded = json.loads(payload)
        except ValueError as exc:
            raise ServiceError(f"{action} returned a body that is not JSON: {exc}") from None
        if not isinstance(decoded, dict):
            raise ServiceError(f"{action} returned JSON that is not an object")
        return decoded


def _describe_http_error(error: urllib.error.HTTPError) -> str:
    """Return the status and, for a problem-details body (RFC 9457), its title and detail."""
    text = f"HTTP {error.code} {error.reason}"
    try:
        problem = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        return text
    if isinstance(problem, dict):
        parts = [str(problem[key]) for key in ("title", "detail") if problem.get(key)]
        if parts:
            text += ": " + ". ".join(parts)
    return text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- command line ----------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that names unknown options without echoing their values.

    argparse's own message repeats every unrecognised argument, which would
    print a PIN that someone tried to pass as ``--pin 123456``.
    """

    def parse_args(self, args=None, namespace=None):  # noqa: ANN001
        arguments, unknown = self.parse_known_args(args, namespace)
        if unknown:
            names = sorted({item.split("=", 1)[0] for item in unknown if item.startswith("-")})
            if any(name.lower().lstrip("-").startswith("pin") for name in names):
                self.error(f"the PIN is never taken as an argument: set {PIN_VARIABLE} or enter it at the prompt")
            listed = ", ".join(names) if names else "none"
            self.error(f"{len(unknown)} unrecognised arguments (options: {listed}). Their values are not shown")
        return arguments


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="dolil_sign.py",
        allow_abbrev=False,
        description=(
            "Sign a Dolil document with the key on your PKCS#11 token. "
            f"The token PIN is read from {PIN_VARIABLE} or from a prompt."
        ),
    )
    parser.add_argument("--url", required=True, help="base URL of the Dolil service, e.g. https://dolil.example.org")
    parser.add_argument(
        "--token",
        help=f"API bearer token. Default: the environment variable {API_TOKEN_VARIABLE}, "
        "which keeps the token out of the process list",
    )
    parser.add_argument("--document", required=True, help="ID of the document to sign")
    parser.add_argument("--pkcs11-lib", required=True, type=Path, help="path of the token's PKCS#11 module")
    parser.add_argument("--token-label", required=True, help="label of the token")
    parser.add_argument("--key-label", required=True, help="label of the private key on the token")
    parser.add_argument("--cert-label", help="label of the signer's certificate. Default: the key label")
    parser.add_argument(
        "--chain-label",
        action="append",
        default=[],
        help="label of a CA certificate on the token to send with the signer's certificate. "
        "Repeat the option for each CA certificate, intermediate first",
    )
    parser.add_argument(
        "--level",
        choices=("B-B", "B-T", "B-LT", "B-LTA"),
        help="PAdES level of the signature. Default: the service's, B-LTA when it has a timestamp service",
    )
    parser.add_argument(
        "--visible",
        action="store_true",
        help="draw the service's Bengali stamp (name, designation, office, date) on the page. "
        "A field that the certification reserved keeps its place",
    )
    parser.add_argument("--page", type=int, help="page of the stamp, from 1. Default: the last page")
    parser.add_argument(
        "--box",
        type=_parse_box,
        help="rectangle of the stamp as x1,y1,x2,y2 in PDF points. Default: free space below the text",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="timeout of each HTTP request, in seconds"
    )
    return parser


def _parse_box(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not four numbers x1,y1,x2,y2") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r} is not four numbers x1,y1,x2,y2")
    return values


def stamp_options(arguments: argparse.Namespace) -> dict[str, Any]:
    """Return the prepare request's stamp members for the command line options; empty for an invisible signature."""
    if not arguments.visible:
        if arguments.page is not None or arguments.box is not None:
            raise UsageError("--page and --box place a stamp: add --visible")
        return {}
    options: dict[str, Any] = {"visible": True}
    if arguments.page is not None:
        if arguments.page < 1:
            raise UsageError("--page counts from 1")
        options["page"] = arguments.page
    if arguments.box is not None:
        options["box"] = arguments.box
    return options


def read_pin(environ: Mapping[str, str], token_label: str) -> str:
    """Return the PIN from DOLIL_TOKEN_PIN, or prompt for it on the terminal without echo."""
    pin = environ.get(PIN_VARIABLE)
    if pin is None:
        if not sys.stdin.isatty():
            raise UsageError(f"no terminal to ask for the PIN: set {PIN_VARIABLE}")
        pin = getpass.getpass(f"PIN of token {token_label!r}: ")
    if not pin:
        raise UsageError("the PIN is empty")
    return pin


def run(arguments: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """Prepare, sign and complete the signature, and return the service's completion response."""
    api_token = arguments.token or environ.get(API_TOKEN_VARIABLE)
    if not api_token:
        raise UsageError(f"no API token: pass --token or set {API_TOKEN_VARIABLE}")
    client = ServiceClient(arguments.url, api_token, timeout=arguments.timeout)
    stamp = stamp_options(arguments)
    settings = TokenSettings(
        library_path=arguments.pkcs11_lib,
        token_label=arguments.token_label,
        key_label=arguments.key_label,
        cert_label=arguments.cert_label,
        chain_cert_labels=tuple(arguments.chain_label),
    )
    pin = read_pin(environ, settings.token_label)

    with open_token_key(settings, pin) as key:
        logger.info("signer: %s", _describe_certificate(key.certificate))
        prepared = client.prepare(arguments.document, key.certificates, arguments.level, stamp)
        message_digest = check_signed_attributes(prepared["signed_attributes"], key.certificate)
        logger.info("document %s: signing document digest %s", arguments.document, message_digest.hex())
        signature_value = key.sign(prepared["signed_attributes"])
        certificates = key.certificates

    return client.complete(arguments.document, prepared["handle"], signature_value, certificates)


def _describe_certificate(der: bytes) -> str:
    from asn1crypto import x509 as asn1_x509

    certificate = asn1_x509.Certificate.load(der)
    return f"{certificate.subject.human_friendly} (serial {certificate.serial_number:x})"


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="dolil_sign: %(message)s", stream=sys.stderr)
    arguments = build_parser().parse_args(argv)
    try:
        result = run(arguments, os.environ if environ is None else environ)
    except ClientError as exc:
        print(f"dolil_sign: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
