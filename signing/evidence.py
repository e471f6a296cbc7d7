"""Evidence shown in a signature report: revocation data and time-stamps.

:func:`embedded_revocation_data` collects the CRLs and OCSP responses stored in
the document (the DSS and the signed ``adbe-revocationInfoArchival`` attribute).
:func:`revocation_evidence` lists those of them, and of the fetched ones, that
speak about one certificate. :func:`timestamp_entries` lists the signature
time-stamp and the document time-stamps that follow a signature.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from asn1crypto import cms, crl, ocsp, x509
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.sign.general import (
    MultivaluedAttributeError,
    NonexistentAttributeError,
    find_unique_cms_attribute,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from signing.fetching import FetchRecord
from signing.revisions import DocumentFacts

__all__ = [
    "EmbeddedRevocationData",
    "certificate_entries",
    "embedded_revocation_data",
    "revocation_evidence",
    "timestamp_entries",
    "timestamp_gen_time",
]

logger = logging.getLogger(__name__)

EMBEDDED = "embedded"
FETCHED = "fetched"


@dataclass
class EmbeddedRevocationData:
    """Certificates, CRLs and OCSP responses stored in a document for one signature."""

    certificates: list[x509.Certificate] = field(default_factory=list)
    crls: list[crl.CertificateList] = field(default_factory=list)
    ocsp_responses: list[ocsp.OCSPResponse] = field(default_factory=list)


def embedded_revocation_data(
    signature: EmbeddedPdfSignature, document: DocumentFacts
) -> EmbeddedRevocationData:
    """Collect the validation data from the DSS and from the signature's signed attributes."""
    data = EmbeddedRevocationData()
    try:
        dss = DocumentSecurityStore.read_dss(document.reader)
    except NoDSSFoundError:
        dss = None
    if dss is not None:
        data.certificates.extend(dss.load_certs())
        for item in dss.crls:
            data.crls.append(crl.CertificateList.load(item.get_object().read_data(DecodePurpose.CRL)))
        for item in dss.ocsps:
            raw = item.get_object().read_data(DecodePurpose.OCSP_RESPONSE)
            data.ocsp_responses.append(ocsp.OCSPResponse.load(raw))
    try:
        archival = find_unique_cms_attribute(
            signature.signer_info["signed_attrs"], "adobe_revocation_info_archival"
        )
    except (NonexistentAttributeError, MultivaluedAttributeError):
        archival = None
    if archival is not None:
        data.crls.extend(item for item in archival["crl"])
        data.ocsp_responses.extend(item for item in archival["ocsp"])
    return data


def revocation_evidence(
    cert: x509.Certificate, embedded: EmbeddedRevocationData, record: FetchRecord | None
) -> list[dict]:
    """List the CRLs and OCSP responses about ``cert`` that validation had available.

    Each entry has ``source`` (``embedded`` or ``fetched``), ``type`` (``OCSP`` or
    ``CRL``), ``issued_at`` (OCSP producedAt or CRL thisUpdate), ``next_update``
    (OCSP nextUpdate or CRL nextUpdate, None when the item has none), ``status``
    of the certificate in that item (``good``, ``revoked`` or ``unknown``), and
    ``revoked_at`` and ``reason`` for a revoked certificate. Whether pyHanko found
    an item fresh enough to rely on is reported in the indication, not here.
    """
    sources = [(EMBEDDED, embedded.ocsp_responses, embedded.crls)]
    if record is not None:
        sources.append((FETCHED, record.ocsp_responses(), record.crls()))

    entries: list[dict] = []
    seen: set[bytes] = set()
    for source, responses, crls in sources:
        for response in responses:
            digest = hashlib.sha256(response.dump()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            entries.extend(_ocsp_entries(cert, response, source))
        for item in crls:
            digest = hashlib.sha256(item.dump()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            entry = _crl_entry(cert, item, source)
            if entry is not None:
                entries.append(entry)
    return entries


def certificate_entries(
    certs: list[x509.Certificate],
    anchor_included: bool,
    embedded: EmbeddedRevocationData,
    record: FetchRecord | None,
) -> list[dict]:
    """Describe the certificates of a path, the signer's first, with their revocation data.

    ``anchor_included`` says whether the last certificate is the trust anchor,
    whose revocation is not checked because the policy trusts it. Each entry has
    ``role`` (signer, ca or trust_anchor), ``subject``, ``issuer``, ``serial``
    (lowercase hexadecimal), ``not_before``, ``not_after``, ``revocation_status``
    and ``evidence`` as :func:`revocation_evidence` lists it. The status is
    ``revoked`` when any item says so, otherwise ``good`` or ``unknown`` from the
    items, ``no_data`` without any item, and ``not_applicable`` for the anchor.
    """
    entries = []
    for index, cert in enumerate(certs):
        anchor = anchor_included and index == len(certs) - 1
        if index == 0:
            role = "signer"
        elif anchor:
            role = "trust_anchor"
        else:
            role = "ca"
        evidence = [] if anchor else revocation_evidence(cert, embedded, record)
        statuses = {item["status"] for item in evidence}
        if anchor:
            status = "not_applicable"
        elif "revoked" in statuses:
            status = "revoked"
        elif "good" in statuses:
            status = "good"
        elif statuses:
            status = "unknown"
        else:
            status = "no_data"
        entries.append(
            {
                "role": role,
                "subject": cert.subject.human_friendly,
                "issuer": cert.issuer.human_friendly,
                "serial": format(cert.serial_number, "x"),
                "not_before": cert.not_valid_before,
                "not_after": cert.not_valid_after,
                "revocation_status": status,
                "evidence": evidence,
            }
        )
    return entries


def _ocsp_entries(cert: x509.Certificate, response: ocsp.OCSPResponse, source: str) -> list[dict]:
    try:
        if response["response_status"].native != "successful":
            return []
        basic = response["response_bytes"]["response"].parsed
        data = basic["tbs_response_data"]
        entries = []
        for single in data["responses"]:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != cert.serial_number:
                continue
            hash_name = cert_id["hash_algorithm"]["algorithm"].native
            issuer_hash = hashlib.new(hash_name, cert.issuer.dump()).digest()
            if cert_id["issuer_name_hash"].native != issuer_hash:
                continue
            status = single["cert_status"]
            entry = {
                "source": source,
                "type": "OCSP",
                "issued_at": data["produced_at"].native,
                "next_update": single["next_update"].native,
                "status": status.name,
            }
            if status.name == "revoked":
                info = status.chosen
                entry["revoked_at"] = info["revocation_time"].native
                entry["reason"] = info["revocation_reason"].native
            entries.append(entry)
        return entries
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("cannot read an OCSP response: %s", exc)
        return []


def _crl_entry(cert: x509.Certificate, item: crl.CertificateList, source: str) -> dict | None:
    try:
        tbs = item["tbs_cert_list"]
        if tbs["issuer"] != cert.issuer:
            return None
        entry = {
            "source": source,
            "type": "CRL",
            "issued_at": tbs["this_update"].native,
            "next_update": tbs["next_update"].native,
            "status": "good",
        }
        for revoked in tbs["revoked_certificates"]:
            if revoked["user_certificate"].native == cert.serial_number:
                entry["status"] = "revoked"
                entry["revoked_at"] = revoked["revocation_date"].native
                entry["reason"] = revoked.crl_reason_value.native if revoked.crl_reason_value else None
                break
        return entry
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("cannot read a CRL: %s", exc)
        return None


def timestamp_gen_time(token: cms.ContentInfo | cms.SignedData):
    signed_data = token["content"] if isinstance(token, cms.ContentInfo) else token
    return signed_data["encap_content_info"]["content"].parsed["gen_time"].native


def _tsa_subject(signed_data: cms.SignedData) -> str | None:
    certs = [choice.chosen for choice in signed_data["certificates"] if choice.name == "certificate"]
    signer_id = signed_data["signer_infos"][0]["sid"]
    for cert in certs:
        if signer_id.name == "issuer_and_serial_number":
            issuer_and_serial = signer_id.chosen
            matches = (
                cert.serial_number == issuer_and_serial["serial_number"].native
                and cert.issuer == issuer_and_serial["issuer"]
            )
        else:
            matches = cert.key_identifier == signer_id.chosen.native
        if matches:
            return cert.subject.human_friendly
    return None


def timestamp_entries(
    signature: EmbeddedPdfSignature, signature_tst: cms.SignedData | None, document: DocumentFacts
) -> tuple[dict, ...]:
    """Describe the signature time-stamp and the later document time-stamps, oldest first.

    Each entry has ``type`` (``signature`` or ``document``), ``time`` (the
    token's genTime) and ``tsa`` (the subject of the time-stamping authority's
    certificate when the token contains it). Document time-stamps also have
    ``field_name`` and ``revision``. The entries describe what the file contains:
    the indication and ``poe_time`` of the report show which of them were validated.
    """
    entries: list[dict] = []
    if signature_tst is not None:
        entries.append(
            {
                "type": "signature",
                "time": timestamp_gen_time(signature_tst),
                "tsa": _tsa_subject(signature_tst),
            }
        )
    for entry in document.timestamps:
        if entry.signature is None or entry.revision <= signature.signed_revision:
            continue
        try:
            signed_data = entry.signature.signed_data
            entries.append(
                {
                    "type": "document",
                    "time": timestamp_gen_time(signed_data),
                    "tsa": _tsa_subject(signed_data),
                    "field_name": entry.name,
                    "revision": entry.revision,
                }
            )
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("cannot read document time-stamp %r: %s", entry.name, exc)
    return tuple(entries)
