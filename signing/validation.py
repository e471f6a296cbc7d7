"""Validation of PAdES signatures with ETSI EN 319 102-1 indications.

Cryptographic and certificate checks use pyHanko's AdES validation
(``pyhanko.sign.validation.ades``): basic validation for signatures without a
signature time-stamp, validation with time for signatures with one, and long-term
(LTA) validation when later document time-stamps can supply a proof of existence
(POE). The document structure is reviewed here as well, because pyHanko 0.38
accepts some changes that an auditor has to see:

==============================================  ===============  ======================
Finding                                         Indication       Sub-indication
==============================================  ===============  ======================
Byte range digest does not match                TOTAL_FAILED     HASH_FAILURE
Signature value does not verify                 TOTAL_FAILED     SIG_CRYPTO_FAILURE
No path to a trust anchor                       INDETERMINATE    NO_CERTIFICATE_CHAIN_FOUND
Signer certificate expired at validation time   INDETERMINATE    OUT_OF_BOUNDS_NO_POE
Signer certificate revoked, no POE before it    INDETERMINATE    REVOKED_NO_POE
Content time-stamp later than the revocation   TOTAL_FAILED     REVOKED
No usable CRL or OCSP data under hard-fail      INDETERMINATE    TRY_LATER
Signer certificate without nonRepudiation       INDETERMINATE    CHAIN_CONSTRAINTS_FAILURE
Byte range not covering a whole revision,
update rejected by the difference analysis,
or DocMDP permissions exceeded                  TOTAL_FAILED     FORMAT_FAILURE
Bytes after the last ``%%EOF``, /Info or XMP
metadata changed, annotations, unsigned fields
or page content changed after signing           INDETERMINATE    FORMAT_FAILURE
Signature not parseable or unexpected error     INDETERMINATE    FORMAT_FAILURE
==============================================  ===============  ======================

Revocation follows ETSI: a revoked signer certificate gives REVOKED_NO_POE
unless a time-stamp proves that the signature was made after the revocation.
"hard-fail" requires CRL or OCSP data for every certificate below the trust
anchor. "soft-fail" accepts a signature whose revocation status could not be
established and reports that status as ``not_checked``.

Later revisions that only add signatures, document time-stamps or DSS data keep
an earlier signature TOTAL_PASSED.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version as package_version
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

import aiohttp
from asn1crypto import cms, crl, ocsp, pem, x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import (
    AdESFailure,
    AdESIndeterminate,
    AdESPassed,
    AdESStatus,
    AdESSubIndic,
)
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import (
    MultivaluedAttributeError,
    NonexistentAttributeError,
    find_unique_cms_attribute,
)
from pyhanko.sign.validation import ades, generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetcherBackend, FetchLimits
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing.errors import InvalidDocument
from signing.report import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    SignatureReport,
    ValidationReport,
    worst_indication,
)

__all__ = [
    "REVOCATION_MODES",
    "SignatureReport",
    "ValidationPolicy",
    "ValidationReport",
    "load_certificates",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

REVOCATION_MODES = ("hard-fail", "soft-fail")
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")

# Bounds for fetching when a policy allows it. The per-request timeout is in seconds.
FETCH_TIMEOUT_SECONDS = 5
FETCH_LIMITS = FetchLimits(max_requests=50, max_cert_requests=10, max_aia_urls_per_object=3)

# /Info entries that signing software rewrites on every update. A change limited to
# these in a later revision does not make an earlier signature questionable.
HOUSEKEEPING_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
# The same for XMP metadata (ElementTree names), plus the XMP toolkit name.
HOUSEKEEPING_XMP_PROPERTIES = frozenset(
    {
        "{http://ns.adobe.com/xap/1.0/}ModifyDate",
        "{http://ns.adobe.com/xap/1.0/}MetadataDate",
        "{http://ns.adobe.com/pdf/1.3/}Producer",
        "{http://ns.adobe.com/xap/1.0/mm/}InstanceID",
        "{adobe:ns:meta/}xmptk",
    }
)

FORMAT_FAILURE = "FORMAT_FAILURE"
SUPPORTED_SUBFILTERS = ("/ETSI.CAdES.detached", "/adbe.pkcs7.detached")

# Sub-indications of a strict (revocation data required) run that may be caused by
# missing or unusable revocation data. pyHanko 0.38 reports a missing CRL or OCSP
# response as CERTIFICATE_CHAIN_GENERAL_FAILURE, so such a run is repeated without
# revocation checking to tell the causes apart.
_REVOCATION_SENSITIVE = frozenset(
    {
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        AdESIndeterminate.TRY_LATER,
        AdESIndeterminate.NO_POE,
        AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
    }
)
_REVOKED = frozenset(
    {
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
    }
)
# Results of validation with time that a proof of existence from a document
# time-stamp may still turn into a pass.
_IMPROVABLE_BY_POE = frozenset(
    {
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.REVOKED_CA_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
        AdESIndeterminate.TRY_LATER,
    }
)
# Failures where a path returned by pyHanko must not be reported as a chain.
_NO_CHAIN = frozenset(
    {
        AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
        AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND,
    }
)

# Explanations added to a report's warnings for the sub-indications seen most often.
_SUB_INDICATION_TEXT = {
    "HASH_FAILURE": "the bytes covered by the signature do not match the signed digest",
    "SIG_CRYPTO_FAILURE": "the signature value does not verify with the signer's public key",
    "REVOKED": "a time-stamp proves that the signature was made after the certificate was revoked",
    "NO_CERTIFICATE_CHAIN_FOUND": "no certificate path leads from the signer to a trust anchor of the policy",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "the certificate path to the trust anchor failed validation",
    "CHAIN_CONSTRAINTS_FAILURE": "a certificate in the path violates a constraint such as its key usage",
    "OUT_OF_BOUNDS_NO_POE": (
        "the signer's certificate is outside its validity period at the validation time "
        "and nothing proves that the signature existed while it was valid"
    ),
    "REVOKED_NO_POE": (
        "the signer's certificate is revoked and nothing proves that the signature "
        "existed before the revocation"
    ),
    "REVOKED_CA_NO_POE": (
        "an issuing CA certificate is revoked and nothing proves that the signature "
        "existed before the revocation"
    ),
    "CRYPTO_CONSTRAINTS_FAILURE": "an algorithm used by the signature or the path is not acceptable",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "an algorithm used by the signature or the path is no longer acceptable",
}

_EOF_LINE = re.compile(rb"startxref\s+(\d+)\s*%%EOF(?:\r\n|\r|\n)?")


@dataclass(frozen=True, eq=False)
class ValidationPolicy:
    """Trust anchors and revocation settings for :func:`validate_pdf`.

    ``trust_roots`` anchor signer and time-stamping authority certificates alike.
    ``intermediates`` are CA certificates used for path building in addition to
    those embedded in the document. With ``allow_fetching`` set, CRLs, OCSP
    responses and issuer certificates are fetched over HTTP(S) only from hosts in
    ``allowed_hosts`` (exact, case-insensitive match on the URL host name, also
    for redirects). Otherwise nothing is fetched: only data in the document and
    in the policy is used.

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "trust_roots", tuple(self.trust_roots))
        object.__setattr__(self, "intermediates", tuple(self.intermediates))
        object.__setattr__(
            self, "allowed_hosts", tuple(host.strip().lower() for host in self.allowed_hosts)
        )

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

    # asn1crypto certificates compare by identity, so equality uses the fingerprint.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidationPolicy) and self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def fingerprint(self) -> str:
        """Return a SHA-256 hex digest of the settings, the anchors and the validator versions.

        The pyHanko and pyhanko-certvalidator versions are included, so a cached
        report stops matching when the validating code changes.
        """
        settings = {
            "name": self.name,
            "revocation_mode": self.revocation_mode,
            "allow_fetching": self.allow_fetching,
            "allowed_hosts": sorted(set(self.allowed_hosts)),
            "trust_roots": sorted({cert.sha256.hex() for cert in self.trust_roots}),
            "intermediates": sorted({cert.sha256.hex() for cert in self.intermediates}),
            "pyhanko": package_version("pyHanko"),
            "pyhanko_certvalidator": package_version("pyhanko-certvalidator"),
        }
        canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def validate_pdf(
    data: bytes, policy: ValidationPolicy, *, now: datetime | None = None
) -> ValidationReport:
    """Validate every signature in a PDF and return a report.

    ``now`` sets the validation time (timezone-aware) and defaults to the current
    time. With an explicit ``now`` nothing is fetched, even if the policy allows
    fetching, because fetched data would describe the present and not ``now``.

    Raises :class:`~signing.errors.InvalidDocument` when the bytes are empty, not
    a readable PDF, or encrypted. Problems with a single signature never raise:
    they are reported as INDETERMINATE.

    Runs its own event loop, so it must not be called from a running one.
    """
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    validated_at = now if now is not None else datetime.now(timezone.utc)

    reader = _open_pdf(data)
    document = _DocumentFacts.read(reader, data)
    signatures = asyncio.run(_validate_signatures(document, policy, now))

    report = ValidationReport(
        indication=worst_indication(tuple(signature.indication for signature in signatures)),
        signatures=tuple(signatures),
        policy=policy.name,
        policy_fingerprint=policy.fingerprint(),
        validated_at=validated_at,
        trailing_bytes=document.trailing_bytes,
    )
    logger.info(
        "validated PDF sha256=%s signatures=%d indication=%s policy=%s",
        hashlib.sha256(data).hexdigest(),
        len(signatures),
        report.indication,
        policy.name,
    )
    return report


def _open_pdf(data: bytes) -> PdfFileReader:
    """Open a PDF, retrying on a prefix when bytes appended after ``%%EOF`` break parsing.

    pyHanko looks for the ``startxref`` and ``%%EOF`` lines near the end of the
    file, so a long or ``%%EOF``-containing tail makes it fail. The retry parses
    the data up to an earlier ``%%EOF`` line; the bytes after it are reported as
    trailing bytes.
    """
    if not data:
        raise InvalidDocument("empty", "the PDF is empty")
    try:
        reader = _read_pdf(data)
    except Exception as exc:  # pyHanko raises many types on malformed input
        reader = _read_pdf_prefix(data)
        if reader is None:
            raise InvalidDocument("malformed_pdf", f"cannot parse PDF: {exc}") from exc
        logger.warning("PDF parsed only up to an earlier %%EOF marker after: %s", exc)
    if reader.encrypted:
        try:
            opened = reader.decrypt(b"").status != AuthStatus.FAILED
        except Exception:  # public-key and unknown security handlers raise instead
            opened = False
        if not opened:
            raise InvalidDocument("encrypted_pdf", "the PDF is encrypted and needs a password or key")
    return reader


def _read_pdf(data: bytes) -> PdfFileReader:
    reader = PdfFileReader(BytesIO(data), strict=False)
    reader.root  # forces the catalog to be read
    return reader


def _read_pdf_prefix(data: bytes, attempts: int = 8) -> PdfFileReader | None:
    end = len(data)
    for _ in range(attempts):
        position = data.rfind(b"%%EOF", 0, end)
        if position < 0:
            return None
        try:
            return _read_pdf(data[: _end_of_eof_line(data, position)])
        except Exception:  # as in _open_pdf: try the next marker further back
            end = position
    return None


def _end_of_eof_line(data: bytes, position: int) -> int:
    """Return the offset after a ``%%EOF`` marker at ``position`` and its end-of-line."""
    end = position + len(b"%%EOF")
    for eol in (b"\r\n", b"\r", b"\n"):
        if data.startswith(eol, end):
            return end + len(eol)
    return end


# --- document structure ---------------------------------------------------------------


@dataclass
class _FieldEntry:
    """A filled signature field, parsed or with the error that prevented parsing."""

    name: str
    revision: int
    signature: EmbeddedPdfSignature | None
    error: Exception | None = None


@dataclass
class _DocumentFacts:
    """Facts about the whole file shared by the reports of all its signatures."""

    reader: PdfFileReader
    trailing_bytes: int
    signatures: list[_FieldEntry]
    timestamps: list[_FieldEntry]
    signed_field_names: frozenset[str]
    """Names of the fields that hold a signature or a document time-stamp."""
    dss_revisions: frozenset[int]
    revision_notes: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)

    @classmethod
    def read(cls, reader: PdfFileReader, data: bytes) -> _DocumentFacts:
        try:
            all_fields = list(enumerate_sig_fields(reader))
        except Exception as exc:  # malformed AcroForm trees raise assorted errors
            raise InvalidDocument("malformed_pdf", f"cannot read signature fields: {exc}") from exc

        signatures: list[_FieldEntry] = []
        timestamps: list[_FieldEntry] = []
        for name, value, sig_field in all_fields:
            if value is None:
                continue
            entry = _parse_field(reader, name, value, sig_field)
            (timestamps if _is_document_timestamp(entry, value) else signatures).append(entry)
        signatures.sort(key=lambda entry: entry.revision)
        timestamps.sort(key=lambda entry: entry.revision)

        return cls(
            reader=reader,
            trailing_bytes=_trailing_byte_count(reader, data),
            signatures=signatures,
            timestamps=timestamps,
            signed_field_names=frozenset(entry.name for entry in signatures + timestamps),
            dss_revisions=_dss_revisions(reader),
        )

    @property
    def last_revision(self) -> int:
        return self.reader.xrefs.total_revisions - 1

    def notes_for_revision(self, revision: int) -> tuple[list[str], list[str]]:
        """Return (benign, questionable) change descriptions for one revision."""
        if revision not in self.revision_notes:
            self.revision_notes[revision] = _describe_revision(self, revision)
        return self.revision_notes[revision]


def _parse_field(reader: PdfFileReader, name: str, value, sig_field) -> _FieldEntry:
    try:
        revision = reader.xrefs.get_last_change(value.reference)
    except Exception:  # a direct /V object has no reference of its own
        revision = reader.xrefs.total_revisions - 1
    try:
        signature = EmbeddedPdfSignature(reader, sig_field, name)
    except Exception as exc:  # unparseable /ByteRange, /Contents or CMS structure
        logger.warning("cannot parse signature field %r: %s", name, exc)
        return _FieldEntry(name=name, revision=revision, signature=None, error=exc)
    return _FieldEntry(name=name, revision=signature.signed_revision, signature=signature)


def _is_document_timestamp(entry: _FieldEntry, value) -> bool:
    if entry.signature is not None:
        return entry.signature.sig_object_type == "/DocTimeStamp"
    try:
        return value.get_object().get("/Type") == "/DocTimeStamp"
    except Exception:  # an unreadable value is reported as an unparseable signature
        return False


def _trailing_byte_count(reader: PdfFileReader, data: bytes) -> int:
    """Count the bytes after the ``startxref``/``%%EOF`` lines of the last revision."""
    xrefs = reader.xrefs
    last = xrefs.total_revisions - 1
    startxref = xrefs.get_startxref_for_revision(last)
    search_from = xrefs.get_xref_container_info(last).end_location
    for match in _EOF_LINE.finditer(data, search_from):
        if int(match.group(1)) == startxref:
            return len(data) - match.end()
    # The reader accepted the file, but no end-of-file lines follow the last xref
    # section, so the last %%EOF marker in the file marks the end instead.
    position = data.rfind(b"%%EOF")
    if position < 0:
        return 0
    return len(data) - _end_of_eof_line(data, position)


def _dss_revisions(reader: PdfFileReader) -> frozenset[int]:
    """Return the revisions that add or change the document security store."""
    try:
        return _find_dss_revisions(reader)
    except Exception as exc:  # a malformed DSS must not stop the validation
        logger.warning("cannot read the document security store: %s", exc)
        return frozenset()


def _find_dss_revisions(reader: PdfFileReader) -> frozenset[int]:
    revisions = set()
    previous = None
    for revision in range(reader.xrefs.total_revisions):
        root = reader.get_historical_resolver(revision).root
        dss = root.raw_get("/DSS") if "/DSS" in root else None
        if dss is None:
            previous = None
            continue
        refs = set(_refs_reachable(dss))
        changed = reader.xrefs.explicit_refs_in_revision(revision)
        if previous is None or refs != previous or refs & changed:
            revisions.add(revision)
        previous = refs
    return frozenset(revisions)


def _refs_reachable(obj, depth: int = 4) -> Iterator[generic.Reference]:
    """Yield references reachable from a DSS entry (dictionaries, arrays, streams)."""
    if isinstance(obj, generic.IndirectObject):
        yield obj.reference
        obj = obj.get_object()
    if depth == 0:
        return
    if isinstance(obj, generic.DictionaryObject):
        for key in obj:
            yield from _refs_reachable(obj.raw_get(key), depth - 1)
    elif isinstance(obj, generic.ArrayObject):
        for index in range(len(obj)):
            yield from _refs_reachable(obj.raw_get(index), depth - 1)


def _describe_revision(document: _DocumentFacts, revision: int) -> tuple[list[str], list[str]]:
    """Describe what an incremental update changes, split into benign and questionable."""
    reader = document.reader
    benign: list[str] = []
    questionable: list[str] = []

    for entry in document.signatures:
        if entry.revision == revision:
            benign.append(f"revision {revision} adds signature {entry.name!r}")
    for entry in document.timestamps:
        if entry.revision == revision:
            benign.append(f"revision {revision} adds document time-stamp {entry.name!r}")
    if revision in document.dss_revisions:
        benign.append(f"revision {revision} adds or updates the document security store (DSS)")

    old = reader.get_historical_resolver(revision - 1)
    new = reader.get_historical_resolver(revision)
    changed_refs = reader.xrefs.explicit_refs_in_revision(revision)

    info_keys = _info_changes(old, new)
    if info_keys:
        description = (
            f"document information dictionary changed in revision {revision}: "
            f"{', '.join(info_keys)}"
        )
        housekeeping = set(info_keys) <= HOUSEKEEPING_INFO_KEYS
        (benign if housekeeping else questionable).append(description)

    old_xmp = _xmp_bytes(old)
    new_xmp = _xmp_bytes(new)
    if old_xmp != new_xmp:
        description = f"XMP metadata stream changed in revision {revision}"
        if _xmp_content(old_xmp) == _xmp_content(new_xmp):
            benign.append(f"{description}: modification date, producer or instance ID only")
        else:
            questionable.append(description)

    questionable.extend(_page_changes(old, new, changed_refs, revision))
    return benign, questionable


def _deref(resolver, obj):
    """Resolve a reference in the given revision.

    References taken from ``trailer_view`` would otherwise resolve in the latest revision.
    """
    if isinstance(obj, generic.IndirectObject):
        return resolver.get_object(obj.reference)
    return obj


def _info_changes(old, new) -> list[str]:
    """Return the /Info keys added, removed or changed between two revisions."""
    old_info = _info_dict(old)
    new_info = _info_dict(new)
    keys = sorted(set(old_info) | set(new_info))
    return [
        key
        for key in keys
        if _info_value(old, old_info.raw_get(key) if key in old_info else None)
        != _info_value(new, new_info.raw_get(key) if key in new_info else None)
    ]


def _info_dict(resolver) -> generic.DictionaryObject:
    trailer = resolver.trailer_view
    info = _deref(resolver, trailer.raw_get("/Info")) if "/Info" in trailer else None
    return info if isinstance(info, generic.DictionaryObject) else generic.DictionaryObject()


def _info_value(resolver, obj) -> str | None:
    return None if obj is None else repr(_deref(resolver, obj))


def _xmp_bytes(resolver) -> bytes | None:
    root = resolver.root
    stream = _deref(resolver, root.raw_get("/Metadata")) if "/Metadata" in root else None
    if not isinstance(stream, generic.StreamObject):
        return None
    try:
        return stream.read_data(DecodePurpose.XMP_METADATA)
    except misc.PdfError:
        # Undecodable metadata is compared as raw bytes.
        return stream.encoded_data


def _xmp_content(encoded: bytes | None) -> object:
    """Return a comparable form of XMP metadata without housekeeping properties.

    Unparseable metadata is returned as is, so any byte change counts as a change.
    """
    if encoded is None:
        return None
    try:
        root = ElementTree.fromstring(encoded)
    except ElementTree.ParseError:
        return encoded
    content = []
    for element in root.iter():
        if element.tag in HOUSEKEEPING_XMP_PROPERTIES:
            continue
        attributes = sorted(
            (name, value)
            for name, value in element.attrib.items()
            if name not in HOUSEKEEPING_XMP_PROPERTIES
        )
        content.append((element.tag, tuple(attributes), (element.text or "").strip()))
    return content


def _page_changes(old, new, changed_refs: set, revision: int) -> list[str]:
    old_pages = _page_list(old)
    new_pages = _page_list(new)
    changes = []
    if len(old_pages) != len(new_pages):
        changes.append(
            f"revision {revision} changes the number of pages from {len(old_pages)} "
            f"to {len(new_pages)}"
        )
    for index, ((old_ref, old_page), (new_ref, new_page)) in enumerate(
        zip(old_pages, new_pages), start=1
    ):
        # Only pages whose dictionary or content streams were rewritten can differ.
        touched = {new_ref} | set(_content_refs(new_page))
        if new_ref == old_ref and not touched & changed_refs:
            continue
        if _page_content(old, old_page) != _page_content(new, new_page):
            changes.append(f"content of page {index} changed in revision {revision}")
    return changes


def _page_list(resolver) -> list[tuple[generic.Reference | None, generic.DictionaryObject]]:
    """Return the pages of one revision in order, as (reference, page dictionary)."""
    pages: list[tuple[generic.Reference | None, generic.DictionaryObject]] = []
    seen: set[generic.Reference] = set()

    def visit(raw, depth: int) -> None:
        ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
        node = _deref(resolver, raw)
        if depth > 64 or not isinstance(node, generic.DictionaryObject) or ref in seen:
            return
        if ref is not None:
            seen.add(ref)
        if "/Kids" in node:
            kids = _deref(resolver, node.raw_get("/Kids"))
            if isinstance(kids, generic.ArrayObject):
                for index in range(len(kids)):
                    visit(kids.raw_get(index), depth + 1)
        else:
            pages.append((ref, node))

    root = resolver.root
    if "/Pages" in root:
        visit(root.raw_get("/Pages"), 0)
    return pages


def _content_refs(page: generic.DictionaryObject) -> list[generic.Reference]:
    if "/Contents" not in page:
        return []
    raw = page.raw_get("/Contents")
    items = [raw.raw_get(i) for i in range(len(raw))] if isinstance(raw, generic.ArrayObject) else [raw]
    return [item.reference for item in items if isinstance(item, generic.IndirectObject)]


def _page_content(resolver, page: generic.DictionaryObject) -> list[bytes]:
    """Return the encoded bytes of a page's content streams."""
    if "/Contents" not in page:
        return []
    contents = _deref(resolver, page.raw_get("/Contents"))
    if isinstance(contents, generic.ArrayObject):
        items = [_deref(resolver, contents.raw_get(i)) for i in range(len(contents))]
    else:
        items = [contents]
    return [item.encoded_data for item in items if isinstance(item, generic.StreamObject)]


# --- integrity of the signed revision and of the updates after it ----------------------


@dataclass
class _IntegrityFindings:
    coverage: str
    revisions_after: int
    modified_after_signing: bool
    modification_level: str | None
    changes: list[str]
    failures: list[str]
    """Reasons for TOTAL_FAILED/FORMAT_FAILURE."""
    doubts: list[str]
    """Reasons for INDETERMINATE/FORMAT_FAILURE."""


def _review_integrity(signature: EmbeddedPdfSignature, document: _DocumentFacts) -> _IntegrityFindings:
    # Digest and coverage only: the difference analysis runs below, one revision at a
    # time, so that a rejected update can be attributed to its revision.
    signature.compute_integrity_info(skip_diff=True)
    coverage = signature.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE and document.trailing_bytes:
        # The reader saw only the data up to the end of the last revision.
        coverage = SignatureCoverageLevel.ENTIRE_REVISION
    signed_revision = signature.signed_revision
    revisions_after = document.last_revision - signed_revision
    findings = _IntegrityFindings(
        coverage=coverage.name,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or coverage != SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=None,
        changes=[],
        failures=[],
        doubts=[],
    )

    if coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reason = "the signature's byte range does not cover a complete revision of the file"
        findings.changes.append(reason)
        findings.failures.append(reason)
    else:
        for revision in range(signed_revision + 1, document.last_revision + 1):
            benign, questionable = document.notes_for_revision(revision)
            findings.changes.extend(benign + questionable)
            findings.doubts.extend(questionable)
        _review_updates(signature, document, findings)

    if document.trailing_bytes:
        reason = (
            f"{document.trailing_bytes} bytes after the end of the last revision "
            f"(after %%EOF) are not part of any revision"
        )
        findings.changes.append(reason)
        findings.doubts.append(reason)
    return findings


def _review_updates(
    signature: EmbeddedPdfSignature, document: _DocumentFacts, findings: _IntegrityFindings
) -> None:
    """Run pyHanko's difference analysis on each revision after the signed one."""
    reader = document.reader
    base = reader.get_historical_resolver(signature.signed_revision)
    level = ModificationLevel.NONE
    changed_fields: set[str] = set()

    for revision in range(signature.signed_revision + 1, document.last_revision + 1):
        try:
            result = DEFAULT_DIFF_POLICY.apply(
                old=base,
                new=reader.get_historical_resolver(revision),
                field_mdp_spec=signature.fieldmdp,
                doc_mdp=signature.docmdp_level,
            )
        except SuspiciousModification as exc:
            reason = (
                f"revision {revision} contains changes that are not permitted after "
                f"signing: {_shorten(str(exc))}"
            )
            findings.modification_level = ModificationLevel.OTHER.name
            findings.changes.append(reason)
            findings.failures.append(reason)
            return
        level = max(level, result.modification_level)
        changed_fields |= result.changed_form_fields

    findings.modification_level = level.name
    docmdp = signature.docmdp_level
    if docmdp is not None and level.value > docmdp.value:
        reason = (
            f"changes after signing ({level.name}) exceed the DocMDP permissions "
            f"({docmdp.name}) of this certification signature"
        )
        findings.changes.append(reason)
        findings.failures.append(reason)
    if level == ModificationLevel.ANNOTATIONS:
        reason = "annotations were added, changed or removed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)
    for name in sorted(changed_fields - document.signed_field_names):
        reason = f"form field {name!r} was filled or changed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)


def _shorten(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- certificates, revocation and time-stamps -----------------------------------------


class _HostAllowlistConnector(aiohttp.TCPConnector):
    """TCP connector that rejects connections to hosts outside an allowlist.

    The check runs for every connection, so redirects to other hosts are rejected too.
    """

    def __init__(self, allowed_hosts: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self._allowed_hosts = frozenset(allowed_hosts)

    async def connect(self, req, traces, timeout):
        host = (req.url.host or "").lower()
        if host not in self._allowed_hosts:
            logger.warning("rejected fetch of %s: host %r is not in allowed_hosts", req.url, host)
            raise aiohttp.ClientConnectionError(f"host {host!r} is not in the policy's allowed_hosts")
        return await super().connect(req, traces, timeout)


class _NoFetcherBackend(FetcherBackend):
    """Fetcher backend for policies without fetching, so any call to it is a defect."""

    def get_fetchers(self):
        raise RuntimeError("fetching is disabled by the validation policy")


@dataclass
class _TrustOutcome:
    sub_indication: AdESSubIndic
    status: PdfSignatureStatus | None
    revocation: dict
    warnings: list[str]


@dataclass
class _ValidationSetup:
    policy: ValidationPolicy
    timing: ValidationTimingInfo
    backend: FetcherBackend
    online_rule: RevinfoOnlineFetchingRule
    certificate_rule: CertificateFetchingRule

    def spec(
        self, revocation: RevocationCheckingPolicy, knowledge: LocalKnowledge
    ) -> PdfSignatureValidationSpec:
        cert_policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=list(self.policy.trust_roots)),
            revinfo_policy=CertRevTrustPolicy(revocation),
        )
        return PdfSignatureValidationSpec(
            signature_validation_spec=SignatureValidationSpec(
                cert_validation_policy=cert_policy,
                revinfo_gathering_policy=RevocationInfoGatheringSpec(
                    online_fetching_rule=self.online_rule,
                    fetcher_backend=self.backend,
                    certificate_fetching_rule=self.certificate_rule,
                ),
                local_knowledge=knowledge,
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(),
            ),
            diff_policy=DEFAULT_DIFF_POLICY,
        )


async def _evaluate_trust(
    signature: EmbeddedPdfSignature, document: _DocumentFacts, setup: _ValidationSetup
) -> _TrustOutcome:
    """Validate the CMS signature, the certificate path and revocation.

    The first run requires CRL or OCSP data for every certificate below the anchor.
    If that run fails in a way missing revocation data can explain, a second run
    without revocation checking decides whether revocation was the only problem.
    """
    mode = setup.policy.revocation_mode
    strict = await _run_ades(signature, document, setup, REQUIRE_REVINFO)
    sub = strict.ades_subindic

    if sub == AdESPassed.OK:
        status = strict.api_status
        if status is not None and status.revocation_details is not None:
            # Validation with time passes a revoked certificate when the signature
            # time-stamp predates the revocation.
            note = (
                f"{_revocation_details(status)}, after the time-stamp that proves "
                f"the signature existed"
            )
            return _TrustOutcome(
                sub_indication=sub,
                status=status,
                revocation=_revocation(mode, True, "revoked", note),
                warnings=[f"certificate revoked after signing: {note}"],
            )
        return _TrustOutcome(
            sub_indication=sub,
            status=status,
            revocation=_revocation(
                mode, True, "good", "CRL or OCSP data shows no certificate in the path revoked"
            ),
            warnings=[],
        )
    if sub in _REVOKED:
        return _TrustOutcome(
            sub_indication=sub,
            status=strict.api_status,
            revocation=_revocation(mode, True, "revoked", _revocation_details(strict.api_status)),
            warnings=_failure_warnings(strict),
        )
    if sub not in _REVOCATION_SENSITIVE:
        return _TrustOutcome(
            sub_indication=sub,
            status=strict.api_status,
            revocation=_not_evaluated(mode, sub),
            warnings=_failure_warnings(strict),
        )

    lenient = await _run_ades(signature, document, setup, NO_REVOCATION)
    if lenient.ades_subindic != AdESPassed.OK:
        return _TrustOutcome(
            sub_indication=lenient.ades_subindic,
            status=lenient.api_status,
            revocation=_not_evaluated(mode, lenient.ades_subindic),
            warnings=_failure_warnings(lenient),
        )

    source = (
        f"the document and, from {', '.join(setup.policy.allowed_hosts)}, fetched data"
        if setup.online_rule != RevinfoOnlineFetchingRule.LOCAL_ONLY
        else "the document and the policy (fetching is disabled)"
    )
    note = f"no usable CRL or OCSP data for the certificate path was found in {source}"
    if mode == "hard-fail":
        return _TrustOutcome(
            sub_indication=AdESIndeterminate.TRY_LATER,
            status=lenient.api_status,
            revocation=_revocation(mode, False, "unknown", note),
            warnings=[f"revocation status unknown: {note}"],
        )
    return _TrustOutcome(
        sub_indication=AdESPassed.OK,
        status=lenient.api_status,
        revocation=_revocation(mode, False, "not_checked", note),
        warnings=[f"revocation status not checked (soft-fail policy): {note}"],
    )


def _revocation(mode: str, checked: bool, status: str, note: str) -> dict:
    return {"mode": mode, "checked": checked, "status": status, "note": note}


def _not_evaluated(mode: str, sub_indication: AdESSubIndic) -> dict:
    note = f"revocation was not evaluated because validation failed with {sub_indication.standard_name}"
    return _revocation(mode, False, "not_checked", note)


def _revocation_details(status: PdfSignatureStatus | None) -> str:
    details = status.revocation_details if status is not None else None
    if details is None:
        return "a certificate in the path is revoked"
    revoked_cert = "an issuing CA certificate" if details.ca_revoked else "the signer's certificate"
    reason = details.revocation_reason.native if details.revocation_reason is not None else None
    return (
        f"{revoked_cert} was revoked at {details.revocation_date.isoformat()}"
        + (f" (reason: {reason})" if reason else "")
    )


def _failure_warnings(result) -> list[str]:
    return [_shorten(result.failure_msg)] if result.failure_msg else []


async def _run_ades(
    signature: EmbeddedPdfSignature,
    document: _DocumentFacts,
    setup: _ValidationSetup,
    revocation: RevocationCheckingPolicy,
):
    """Run pyHanko's AdES validation with one revocation policy.

    The processes are those of ETSI EN 319 102-1. Signatures without a signature
    time-stamp get basic validation (clause 5.3), because pyHanko's with-time and
    LTA processes reject them. Signatures with one get validation with time
    (clause 5.5). Long-term validation (clause 5.6.3) runs only when that result
    still lacks a proof of existence and document time-stamps follow the
    signature, because pyHanko's LTA process fails a signature whenever its
    past-validation step finds no revocation data.
    """
    knowledge = _document_knowledge(signature, document, setup.policy)
    spec = setup.spec(revocation, knowledge)

    if _signature_timestamp(signature) is None:
        # NOTE: document time-stamps after a B-B signature are not used as proof of
        # existence, so an expired or revoked signer certificate stays INDETERMINATE
        # even when a later document time-stamp predates the expiry or revocation.
        return await ades.ades_basic_validation(
            signature.signed_data,
            spec.signature_validation_spec,
            timing_info=setup.timing,
            raw_digest=signature.compute_digest(),
        )

    result = await ades.ades_with_time_validation(
        signature.signed_data,
        spec.signature_validation_spec,
        timing_info=setup.timing,
        raw_digest=signature.compute_digest(),
    )
    later_timestamps = any(entry.revision > signature.signed_revision for entry in document.timestamps)
    if result.ades_subindic not in _IMPROVABLE_BY_POE or not later_timestamps:
        return result

    # The LTA process reads the DSS and revocation-info-archival data itself.
    lta_spec = setup.spec(revocation, LocalKnowledge(known_certs=list(setup.policy.intermediates)))
    return await ades.ades_lta_validation(signature, lta_spec, timing_info=setup.timing)


def _document_knowledge(
    signature: EmbeddedPdfSignature, document: _DocumentFacts, policy: ValidationPolicy
) -> LocalKnowledge:
    """Collect certificates, CRLs and OCSP responses from the DSS and the signed attributes."""
    certs = list(policy.intermediates)
    crls: list[CRLContainer] = []
    ocsps: list[OCSPContainer] = []
    try:
        dss = DocumentSecurityStore.read_dss(document.reader)
    except NoDSSFoundError:
        dss = None
    if dss is not None:
        certs.extend(dss.load_certs())
        for item in dss.crls:
            data = item.get_object().read_data(DecodePurpose.CRL)
            crls.append(CRLContainer(crl_data=crl.CertificateList.load(data)))
        for item in dss.ocsps:
            data = item.get_object().read_data(DecodePurpose.OCSP_RESPONSE)
            ocsps.extend(OCSPContainer.load_multi(ocsp.OCSPResponse.load(data)))
    try:
        archival = find_unique_cms_attribute(
            signature.signer_info["signed_attrs"], "adobe_revocation_info_archival"
        )
        crls.extend(CRLContainer(item) for item in archival["crl"])
        ocsps.extend(OCSPContainer(item) for item in archival["ocsp"])
    except (NonexistentAttributeError, MultivaluedAttributeError):
        pass
    return LocalKnowledge(known_certs=certs, known_crls=crls, known_ocsps=ocsps)


def _signature_timestamp(signature: EmbeddedPdfSignature) -> cms.SignedData | None:
    return next(iter(generic_cms.extract_tst_data_iter(signature.signer_info, signed=False)), None)


# --- report assembly ---------------------------------------------------------------


async def _validate_signatures(
    document: _DocumentFacts, policy: ValidationPolicy, now: datetime | None
) -> list[SignatureReport]:
    if now is None:
        timing = ValidationTimingInfo.now(tz=timezone.utc)
    else:
        timing = ValidationTimingInfo(
            validation_time=now, best_signature_time=now, point_in_time_validation=True
        )

    session = None
    if policy.allow_fetching:
        session = aiohttp.ClientSession(connector=_HostAllowlistConnector(policy.allowed_hosts))
        backend: FetcherBackend = AIOHttpFetcherBackend(
            session, per_request_timeout=FETCH_TIMEOUT_SECONDS, limits=FETCH_LIMITS
        )
        setup = _ValidationSetup(
            policy=policy,
            timing=timing,
            backend=backend,
            online_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH,
            certificate_rule=CertificateFetchingRule.FOLLOW_ONLINE_RULE,
        )
    else:
        setup = _ValidationSetup(
            policy=policy,
            timing=timing,
            backend=_NoFetcherBackend(),
            online_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_rule=CertificateFetchingRule.NEVER_FETCH,
        )

    try:
        reports = []
        for entry in document.signatures:
            reports.append(await _validate_entry(entry, document, setup))
        return reports
    finally:
        if session is not None:
            await session.close()


async def _validate_entry(
    entry: _FieldEntry, document: _DocumentFacts, setup: _ValidationSetup
) -> SignatureReport:
    if entry.signature is None:
        return _unprocessable_report(
            entry, document, setup.policy, f"the signature cannot be parsed: {entry.error}"
        )
    subfilter = entry.signature.sig_object.get("/SubFilter")
    if subfilter not in SUPPORTED_SUBFILTERS:
        return _unprocessable_report(
            entry, document, setup.policy, f"signatures with /SubFilter {subfilter} are not supported"
        )
    try:
        return await _validate_signature(entry.signature, document, setup)
    except Exception as exc:  # one broken signature must not hide the others
        logger.exception("validation of signature %r failed unexpectedly", entry.name)
        return _unprocessable_report(
            entry,
            document,
            setup.policy,
            f"validation failed with an unexpected error: {type(exc).__name__}: {_shorten(str(exc))}",
        )


async def _validate_signature(
    signature: EmbeddedPdfSignature, document: _DocumentFacts, setup: _ValidationSetup
) -> SignatureReport:
    integrity = _review_integrity(signature, document)
    trust = await _evaluate_trust(signature, document, setup)
    indication = _indication_of(trust.sub_indication)
    sub_indication = None if indication == TOTAL_PASSED else trust.sub_indication.standard_name
    warnings = []
    if sub_indication in _SUB_INDICATION_TEXT:
        warnings.append(f"{sub_indication}: {_SUB_INDICATION_TEXT[sub_indication]}")
    warnings.extend(trust.warnings)
    if integrity.failures and indication != TOTAL_FAILED:
        indication, sub_indication = TOTAL_FAILED, FORMAT_FAILURE
    elif integrity.doubts and indication == TOTAL_PASSED:
        indication, sub_indication = INDETERMINATE, FORMAT_FAILURE
    warnings.extend(integrity.failures + integrity.doubts)

    level, level_warning = _detect_level(signature, document)
    if level_warning:
        warnings.append(level_warning)
    tst = _signature_timestamp(signature)
    cert = signature.signer_cert
    status = trust.status
    chain: tuple[str, ...] = ()
    if status is not None and status.validation_path is not None and trust.sub_indication not in _NO_CHAIN:
        chain = _chain_subjects(status.validation_path)

    return SignatureReport(
        field_name=signature.field_name,
        indication=indication,
        sub_indication=sub_indication,
        signer_subject=cert.subject.human_friendly,
        signer_issuer=cert.issuer.human_friendly,
        signer_serial=format(cert.serial_number, "x"),
        signing_time=signature.self_reported_timestamp,
        timestamp_time=tst["encap_content_info"]["content"].parsed["gen_time"].native if tst else None,
        level=level,
        coverage=integrity.coverage,
        signed_revision=signature.signed_revision,
        revisions_after=integrity.revisions_after,
        modified_after_signing=integrity.modified_after_signing,
        modification_level=integrity.modification_level,
        changes=tuple(integrity.changes),
        chain=chain,
        revocation=trust.revocation,
        warnings=tuple(warnings),
    )


def _indication_of(sub_indication: AdESSubIndic) -> str:
    status = sub_indication.status
    if status == AdESStatus.PASSED:
        return TOTAL_PASSED
    if status == AdESStatus.FAILED:
        return TOTAL_FAILED
    return INDETERMINATE


def _chain_subjects(path) -> tuple[str, ...]:
    certs = list(path.iter_certs(include_root=True))
    subjects = [cert.subject.human_friendly for cert in reversed(certs)]
    anchor = path.trust_anchor.authority
    if not certs or certs[0].subject != anchor.name:
        subjects.append(anchor.name.human_friendly)
    return tuple(subjects)


def _detect_level(signature: EmbeddedPdfSignature, document: _DocumentFacts) -> tuple[str | None, str | None]:
    """Detect the PAdES baseline level from the file structure alone, without validating anything."""
    subfilter = signature.sig_object.get("/SubFilter")
    if subfilter != "/ETSI.CAdES.detached":
        return None, f"SubFilter {subfilter} is not a PAdES baseline signature"
    signed_revision = signature.signed_revision
    # NOTE: document time-stamps count by their presence. They are validated only
    # when the LTA process runs for a signature.
    later_timestamps = [
        entry.revision
        for entry in document.timestamps
        if entry.signature is not None and entry.revision > signed_revision
    ]
    if _signature_timestamp(signature) is None and not later_timestamps:
        return "B-B", None
    later_dss = [revision for revision in document.dss_revisions if revision > signed_revision]
    if not later_dss:
        return "B-T", None
    if any(revision > min(later_dss) for revision in later_timestamps):
        return "B-LTA", None
    return "B-LT", None


def _unprocessable_report(
    entry: _FieldEntry, document: _DocumentFacts, policy: ValidationPolicy, reason: str
) -> SignatureReport:
    revisions_after = document.last_revision - entry.revision
    return SignatureReport(
        field_name=entry.name,
        indication=INDETERMINATE,
        sub_indication=FORMAT_FAILURE,
        signer_subject=None,
        signer_issuer=None,
        signer_serial=None,
        signing_time=None,
        timestamp_time=None,
        level=None,
        coverage=SignatureCoverageLevel.UNCLEAR.name,
        signed_revision=entry.revision,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or document.trailing_bytes > 0,
        modification_level=None,
        changes=(),
        chain=(),
        revocation=_revocation(policy.revocation_mode, False, "not_checked", reason),
        warnings=(reason,),
    )
