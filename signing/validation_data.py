"""The certificates, CRLs and OCSP responses that one validation used, and their bundle.

:class:`ValidationMaterial` collects, while a PDF is validated, the items that
the document contained (DSS, signed revocation-info-archival attributes and
the certificates in each CMS signature and time-stamp token), the
certificates of each validation path, and what was fetched. Each item is
kept once, as DER, with the sources it came from.

:meth:`ValidationMaterial.to_bundle` writes them as one JSON document, the
validation-data bundle (format ``dolil-validation-data``, version 1)::

    {
      "format": "dolil-validation-data", "version": 1,
      ...caller's metadata, e.g. document_id, revision, revision_sha256...,
      "certificates":   [{"sha256", "subject", "issuer", "serial", "not_before", "not_after", "sources", "der"}],
      "crls":           [{"sha256", "issuer", "this_update", "next_update", "sources", "der"}],
      "ocsp_responses": [{"sha256", "status", "produced_at", "sources", "der"}]
    }

``der`` is standard base64 of the DER encoding and ``sha256`` the hex SHA-256
of the DER bytes. ``sources`` is a sorted list of ``embedded``, ``fetched`` and
``path`` (a certificate of a validation path, which may come from the policy).
Times are ISO 8601 in UTC. Lists are sorted by ``sha256``, so the same
material gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from asn1crypto import cms, crl, ocsp, x509

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "ValidationMaterial"]

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "dolil-validation-data"
BUNDLE_VERSION = 1

EMBEDDED = "embedded"
FETCHED = "fetched"
PATH = "path"


@dataclass
class _Item:
    value: object
    sources: set[str] = field(default_factory=set)


@dataclass
class ValidationMaterial:
    """Certificates, CRLs and OCSP responses seen by one validation, keyed by the SHA-256 of their DER."""

    certificates: dict[str, _Item] = field(default_factory=dict)
    crls: dict[str, _Item] = field(default_factory=dict)
    ocsp_responses: dict[str, _Item] = field(default_factory=dict)

    def add_certificate(self, certificate: x509.Certificate, source: str) -> None:
        _add(self.certificates, certificate, source)

    def add_crl(self, item: crl.CertificateList, source: str) -> None:
        _add(self.crls, item, source)

    def add_ocsp_response(self, response: ocsp.OCSPResponse, source: str) -> None:
        _add(self.ocsp_responses, response, source)

    def add_cms_certificates(self, token: cms.SignedData | cms.ContentInfo, source: str = EMBEDDED) -> None:
        """Add the X.509 certificates carried in a CMS SignedData, e.g. a signature or a time-stamp token."""
        signed_data = token["content"] if isinstance(token, cms.ContentInfo) else token
        for choice in signed_data["certificates"] or ():
            if choice.name == "certificate":
                self.add_certificate(choice.chosen, source)

    def add_embedded(self, certificates, crls, ocsp_responses) -> None:
        for certificate in certificates:
            self.add_certificate(certificate, EMBEDDED)
        for item in crls:
            self.add_crl(item, EMBEDDED)
        for response in ocsp_responses:
            self.add_ocsp_response(response, EMBEDDED)

    def add_fetched(self, certificates, crls, ocsp_responses) -> None:
        for certificate in certificates:
            self.add_certificate(certificate, FETCHED)
        for item in crls:
            self.add_crl(item, FETCHED)
        for response in ocsp_responses:
            self.add_ocsp_response(response, FETCHED)

    def add_path(self, path) -> None:
        """Add the certificates of a pyhanko-certvalidator ``ValidationPath``, trust anchor included."""
        for certificate in path.iter_certs(include_root=True):
            if isinstance(certificate, x509.Certificate):
                self.add_certificate(certificate, PATH)

    def counts(self) -> dict[str, int]:
        return {
            "certificates": len(self.certificates),
            "crls": len(self.crls),
            "ocsp_responses": len(self.ocsp_responses),
        }

    def to_bundle(self, **metadata: object) -> bytes:
        """Return the JSON bundle (UTF-8) with ``metadata`` as extra top-level members."""
        document: dict[str, object] = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION}
        document.update({key: _json_value(value) for key, value in metadata.items()})
        document["certificates"] = [_certificate_entry(digest, item) for digest, item in sorted(self.certificates.items())]
        document["crls"] = [_crl_entry(digest, item) for digest, item in sorted(self.crls.items())]
        document["ocsp_responses"] = [
            _ocsp_entry(digest, item) for digest, item in sorted(self.ocsp_responses.items())
        ]
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _add(items: dict[str, _Item], value, source: str) -> None:
    digest = hashlib.sha256(value.dump()).hexdigest()
    items.setdefault(digest, _Item(value)).sources.add(source)


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return value


def _der(value) -> str:
    return base64.b64encode(value.dump()).decode("ascii")


def _certificate_entry(digest: str, item: _Item) -> dict:
    certificate: x509.Certificate = item.value
    return {
        "sha256": digest,
        "subject": certificate.subject.human_friendly,
        "issuer": certificate.issuer.human_friendly,
        "serial": format(certificate.serial_number, "x"),
        "not_before": _json_value(certificate.not_valid_before),
        "not_after": _json_value(certificate.not_valid_after),
        "sources": sorted(item.sources),
        "der": _der(certificate),
    }


def _crl_entry(digest: str, item: _Item) -> dict:
    certificate_list: crl.CertificateList = item.value
    entry: dict[str, object] = {"sha256": digest, "sources": sorted(item.sources), "der": _der(certificate_list)}
    try:
        tbs = certificate_list["tbs_cert_list"]
        entry["issuer"] = tbs["issuer"].human_friendly
        entry["this_update"] = _json_value(tbs["this_update"].native)
        entry["next_update"] = _json_value(tbs["next_update"].native)
    except (ValueError, KeyError, TypeError) as exc:
        # A malformed CRL embedded in a document is still kept as it was seen.
        logger.warning("cannot read the fields of CRL %s: %s", digest, exc)
    return entry


def _ocsp_entry(digest: str, item: _Item) -> dict:
    response: ocsp.OCSPResponse = item.value
    entry: dict[str, object] = {"sha256": digest, "sources": sorted(item.sources), "der": _der(response)}
    try:
        entry["status"] = response["response_status"].native
        if entry["status"] == "successful":
            data = response["response_bytes"]["response"].parsed["tbs_response_data"]
            entry["produced_at"] = _json_value(data["produced_at"].native)
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("cannot read the fields of OCSP response %s: %s", digest, exc)
    return entry
