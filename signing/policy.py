"""Validation policies: trust anchors, accepted algorithms, revocation and fetching rules.

A policy is a frozen :class:`ValidationPolicy`. :func:`load_policy` reads one from
a TOML file, for example::

    name = "default"

    [trust]
    anchors_dir = "/etc/dolil/trust"          # relative paths start at the file's directory
    intermediates_dir = "/etc/dolil/intermediates"

    [algorithms]
    digest = ["sha256", "sha384", "sha512"]
    signature = ["rsassa_pkcs1v15", "rsassa_pss", "ecdsa"]
    min_rsa_bits = 2048
    min_ec_bits = 256
    renewal_digest = []                       # still accepted, but due for re-time-stamping

    [signer]
    key_usage = ["non_repudiation"]

    [revocation]
    mode = "hard-fail"

    [time]
    clock_tolerance_seconds = 1

    [fetching]
    enabled = false
    allowed_hosts = []

Every key is optional except ``trust.anchors_dir``. Unknown keys are rejected, so
that a misspelt key cannot silently fall back to a default.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version as _installed_version
from pathlib import Path

from asn1crypto import pem, x509

from signing.algorithms import (
    DEFAULT_DIGEST_ALGORITHMS,
    DEFAULT_SIGNATURE_ALGORITHMS,
    DIGEST_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    AllowListAlgorithmPolicy,
)
from signing.errors import SigningError

__all__ = [
    "KEY_USAGES",
    "REVOCATION_MODES",
    "InvalidPolicyFile",
    "ValidationPolicy",
    "load_certificates",
    "load_policy",
    "parse_policy",
]

REVOCATION_MODES = ("hard-fail", "soft-fail")
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")
# asn1crypto names of the key usage bits (RFC 5280, 4.2.1.3).
KEY_USAGES = (
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)

class InvalidPolicyFile(SigningError, ValueError):
    """A validation policy file cannot be read or contains an invalid value.

    ``key`` is the dotted TOML key at fault (``"revocation.mode"``), or None when
    the file as a whole cannot be read or parsed.
    """

    def __init__(self, path: Path | str, key: str | None, detail: str) -> None:
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"invalid validation policy {where}: {detail}")
        self.path = path
        self.key = key
        self.detail = detail


@functools.lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """Return the installed version of a distribution, read once per process.

    importlib.metadata scans the installed distributions on every call, about
    a millisecond each, and the fingerprint needs two for every validation.
    The code that runs does not change while the process runs, so neither
    does its version.
    """
    return _installed_version(name)


def source_digest(directory: Path) -> str:
    """Return a SHA-256 over the names and contents of the Python files in ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        digest.update(path.name.encode("utf-8") + b"\x00" + path.read_bytes() + b"\x00")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def validation_code_digest() -> str:
    """Return the :func:`source_digest` of this package, read once per process.

    Dolil's own checks (integrity, trust, visual comparison) decide a report as
    much as pyHanko does, and they have no version number of their own. A
    cached report made by other code then stops matching, whichever module
    changed.
    """
    return source_digest(Path(__file__).parent)


@dataclass(frozen=True, eq=False)
class ValidationPolicy:
    """Trust anchors, algorithm, key usage, revocation and fetching settings.

    ``trust_roots`` anchor signer and time-stamping authority certificates alike.
    ``intermediates`` are CA certificates used for path building in addition to
    those embedded in the document. With ``allow_fetching`` set, CRLs, OCSP
    responses and issuer certificates are fetched over HTTP(S) only from hosts in
    ``allowed_hosts`` (exact, case-insensitive match on the URL host name, also
    for redirects). Otherwise nothing is fetched: only data in the document and
    in the policy is used.

    ``digest_algorithms`` and ``signature_algorithms`` are allow-lists of
    asn1crypto algorithm names. They apply to the signature, to the certificates
    of every path and to CRLs, OCSP responses and time-stamp tokens. RSA keys
    below ``min_rsa_bits`` and EC keys below ``min_ec_bits`` are rejected.
    ``signer_key_usage`` lists the key usage bits that a signer's certificate must
    all have. ``clock_tolerance_seconds`` is the drift allowed when comparing
    times with validity periods and revocation data.

    ``renewal_digest_algorithms`` names digest algorithms that are still
    accepted but weakening: a document whose newest time-stamp's message
    imprint uses one of them is due for a new archival time-stamp
    (:mod:`signing.renewal`). It changes no validation result.

    Empty ``trust_roots`` trust nothing: every signature is then reported as
    INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND. The operating system's trust store is
    never used.
    """

    trust_roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    revocation_mode: str = "hard-fail"
    allow_fetching: bool = False
    allowed_hosts: tuple[str, ...] = ()
    name: str = "default"
    digest_algorithms: tuple[str, ...] = DEFAULT_DIGEST_ALGORITHMS
    signature_algorithms: tuple[str, ...] = DEFAULT_SIGNATURE_ALGORITHMS
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    signer_key_usage: tuple[str, ...] = ("non_repudiation",)
    clock_tolerance_seconds: int = 1
    renewal_digest_algorithms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "trust_roots", tuple(self.trust_roots))
        object.__setattr__(self, "intermediates", tuple(self.intermediates))
        object.__setattr__(
            self, "allowed_hosts", tuple(host.strip().lower() for host in self.allowed_hosts)
        )
        for name in (
            "digest_algorithms",
            "signature_algorithms",
            "signer_key_usage",
            "renewal_digest_algorithms",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))

        for cert in self.trust_roots + self.intermediates:
            if not isinstance(cert, x509.Certificate):
                raise ValueError(
                    f"ValidationPolicy certificates must be asn1crypto.x509.Certificate, "
                    f"not {type(cert).__name__}"
                )
        if self.revocation_mode not in REVOCATION_MODES:
            raise ValueError(
                f"invalid revocation_mode {self.revocation_mode!r}; "
                f"expected one of {', '.join(REVOCATION_MODES)}"
            )
        if any(not host for host in self.allowed_hosts):
            raise ValueError("ValidationPolicy.allowed_hosts contains an empty host name")
        if self.allow_fetching and not self.allowed_hosts:
            raise ValueError("allow_fetching=True requires at least one host in allowed_hosts")
        _check_names("digest_algorithms", self.digest_algorithms, DIGEST_ALGORITHMS)
        _check_names("signature_algorithms", self.signature_algorithms, SIGNATURE_ALGORITHMS)
        _check_names("signer_key_usage", self.signer_key_usage, KEY_USAGES)
        _check_names("renewal_digest_algorithms", self.renewal_digest_algorithms, DIGEST_ALGORITHMS)
        if not self.digest_algorithms:
            raise ValueError("ValidationPolicy.digest_algorithms must not be empty")
        if not self.signature_algorithms:
            raise ValueError("ValidationPolicy.signature_algorithms must not be empty")
        for name in ("min_rsa_bits", "min_ec_bits", "clock_tolerance_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ValidationPolicy.{name} must be a non-negative integer, not {value!r}")

    # asn1crypto certificates compare by identity, so equality uses the fingerprint.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidationPolicy) and self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def fingerprint(self) -> str:
        """Return a SHA-256 hex digest of the settings, the anchors and the validator versions.

        The pyHanko and pyhanko-certvalidator versions and a digest of this
        package's source are included, so a cached report stops matching when
        the validating code changes. The renewal
        digest algorithms are left out because they change no validation result.
        """
        settings = {
            "name": self.name,
            "revocation_mode": self.revocation_mode,
            "allow_fetching": self.allow_fetching,
            "allowed_hosts": sorted(set(self.allowed_hosts)),
            "trust_roots": sorted({cert.sha256.hex() for cert in self.trust_roots}),
            "intermediates": sorted({cert.sha256.hex() for cert in self.intermediates}),
            "digest_algorithms": sorted(set(self.digest_algorithms)),
            "signature_algorithms": sorted(set(self.signature_algorithms)),
            "min_rsa_bits": self.min_rsa_bits,
            "min_ec_bits": self.min_ec_bits,
            "signer_key_usage": sorted(set(self.signer_key_usage)),
            "clock_tolerance_seconds": self.clock_tolerance_seconds,
            "pyhanko": package_version("pyHanko"),
            "pyhanko_certvalidator": package_version("pyhanko-certvalidator"),
            "dolil_validation": validation_code_digest(),
        }
        canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def algorithm_policy(self) -> AllowListAlgorithmPolicy:
        """Return the policy's algorithm rules in the form pyHanko and certvalidator take."""
        return AllowListAlgorithmPolicy(
            digest_algorithms=frozenset(self.digest_algorithms),
            signature_algorithms=frozenset(self.signature_algorithms),
            min_rsa_bits=self.min_rsa_bits,
            min_ec_bits=self.min_ec_bits,
        )


def _check_names(field: str, values: tuple[str, ...], known: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"ValidationPolicy.{field} contains unknown names {', '.join(unknown)}; "
            f"expected names from {', '.join(known)}"
        )


def load_certificates(directory: Path) -> tuple[x509.Certificate, ...]:
    """Load every PEM or DER certificate from ``*.pem``, ``*.crt``, ``*.cer`` and ``*.der`` files.

    Files are read in name order and duplicate certificates are dropped.
    Raises ``ValueError`` naming the file when a file contains no parseable certificate.
    """
    directory = Path(directory)
    certificates: dict[bytes, x509.Certificate] = {}
    paths = sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and path.suffix.lower() in CERTIFICATE_SUFFIXES
    )
    for path in paths:
        for cert in _parse_certificate_file(path):
            certificates.setdefault(cert.sha256, cert)
    return tuple(certificates.values())


def _parse_certificate_file(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    try:
        if pem.detect(data):
            ders = [der for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
        else:
            ders = [data]
        certs = [x509.Certificate.load(der) for der in ders]
        # asn1crypto parses lazily, so reading the subject forces the parse here.
        for cert in certs:
            cert.subject.human_friendly
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid certificate file {path}: {exc}") from exc
    if not certs:
        raise ValueError(f"no certificate found in {path}")
    return certs


# --- policy files --------------------------------------------------------------------

# Allowed keys of each table and the type each value must have.
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "": {"name": str},
    "trust": {"anchors_dir": str, "intermediates_dir": str},
    "algorithms": {
        "digest": list,
        "signature": list,
        "min_rsa_bits": int,
        "min_ec_bits": int,
        "renewal_digest": list,
    },
    "signer": {"key_usage": list},
    "revocation": {"mode": str},
    "time": {"clock_tolerance_seconds": int},
    "fetching": {"enabled": bool, "allowed_hosts": list},
}


def load_policy(path: Path | str) -> ValidationPolicy:
    """Read a validation policy from a TOML file.

    Relative directories in the ``[trust]`` table start at the directory of the
    file. Raises :class:`InvalidPolicyFile` naming the file and the key for an
    unreadable file, invalid TOML, an unknown key, a value of the wrong type, or
    a trust directory that is missing or contains no certificate.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPolicyFile(path, None, f"cannot be read: {exc}") from exc
    return parse_policy(text, base_dir=path.parent, source=str(path))


def parse_policy(text: str, *, base_dir: Path, source: str = "<string>") -> ValidationPolicy:
    """Parse the TOML text of a validation policy; see :func:`load_policy`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicyFile(source, None, f"not valid TOML: {exc}") from exc
    _check_schema(data, source)

    trust = data.get("trust", {})
    if "anchors_dir" not in trust:
        raise InvalidPolicyFile(source, "trust.anchors_dir", "is required")
    anchors_dir = base_dir / trust["anchors_dir"]
    trust_roots = _certificates_from(source, "trust.anchors_dir", anchors_dir)
    if not trust_roots:
        raise InvalidPolicyFile(source, "trust.anchors_dir", f"{anchors_dir} contains no certificate")
    intermediates: tuple[x509.Certificate, ...] = ()
    if "intermediates_dir" in trust:
        intermediates = _certificates_from(
            source, "trust.intermediates_dir", base_dir / trust["intermediates_dir"]
        )

    algorithms = data.get("algorithms", {})
    fetching = data.get("fetching", {})
    settings: dict[str, tuple[str, object]] = {
        "name": ("name", data.get("name", Path(source).stem)),
        "digest_algorithms": ("algorithms.digest", algorithms.get("digest", DEFAULT_DIGEST_ALGORITHMS)),
        "signature_algorithms": (
            "algorithms.signature",
            algorithms.get("signature", DEFAULT_SIGNATURE_ALGORITHMS),
        ),
        "min_rsa_bits": ("algorithms.min_rsa_bits", algorithms.get("min_rsa_bits", 2048)),
        "min_ec_bits": ("algorithms.min_ec_bits", algorithms.get("min_ec_bits", 256)),
        "renewal_digest_algorithms": ("algorithms.renewal_digest", algorithms.get("renewal_digest", ())),
        "signer_key_usage": (
            "signer.key_usage",
            data.get("signer", {}).get("key_usage", ("non_repudiation",)),
        ),
        "revocation_mode": ("revocation.mode", data.get("revocation", {}).get("mode", "hard-fail")),
        "clock_tolerance_seconds": (
            "time.clock_tolerance_seconds",
            data.get("time", {}).get("clock_tolerance_seconds", 1),
        ),
        "allow_fetching": ("fetching.enabled", fetching.get("enabled", False)),
        "allowed_hosts": ("fetching.allowed_hosts", fetching.get("allowed_hosts", ())),
    }
    for field, (key, value) in settings.items():
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise InvalidPolicyFile(source, key, "must be a list of strings")
        # A single field's checks run here, so that an error names its key.
        try:
            ValidationPolicy(trust_roots=(), **{field: value})
        except ValueError as exc:
            if field == "allow_fetching":
                continue  # checked below, together with the hosts
            raise InvalidPolicyFile(source, key, str(exc)) from exc

    values = {field: value for field, (_, value) in settings.items()}
    try:
        return ValidationPolicy(trust_roots=trust_roots, intermediates=intermediates, **values)
    except ValueError as exc:
        raise InvalidPolicyFile(source, "fetching.allowed_hosts", str(exc)) from exc


def _check_schema(data: Mapping[str, object], source: str) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in _SCHEMA or key == "":
                raise InvalidPolicyFile(source, key, "unknown table")
            table = _SCHEMA[key]
            for inner, inner_value in value.items():
                _check_value(source, f"{key}.{inner}", table.get(inner), inner_value)
        else:
            _check_value(source, key, _SCHEMA[""].get(key), value)


def _check_value(source: str, key: str, expected: type | tuple[type, ...] | None, value: object) -> None:
    if expected is None:
        raise InvalidPolicyFile(source, key, "unknown key")
    # bool is a subclass of int, so an integer setting must reject true and false.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        names = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
        toml_names = {"str": "a string", "int": "an integer", "bool": "a boolean", "list": "an array"}
        raise InvalidPolicyFile(
            source, key, f"must be {toml_names.get(names, names)}, not {type(value).__name__} {value!r}"
        )


def _certificates_from(source: str, key: str, directory: Path) -> tuple[x509.Certificate, ...]:
    if not directory.is_dir():
        raise InvalidPolicyFile(source, key, f"directory {directory} does not exist")
    try:
        return load_certificates(directory)
    except (OSError, ValueError) as exc:
        raise InvalidPolicyFile(source, key, str(exc)) from exc
