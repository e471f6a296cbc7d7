"""Renewal of the archival time-stamp chain of signed PDFs (PAdES B-LTA).

A document time-stamp protects the signatures and the validation data before
it only while the time-stamping authority's (TSA) certificate is valid and
its algorithms are trusted. :func:`inspect_newest_timestamp` finds the
newest time-stamp of a file: the last document time-stamp, or the signature
time-stamp of the last signature when there is no document time-stamp.
:func:`renewal_reasons` decides whether that time-stamp is due for renewal.
:func:`renew_archival_timestamp` renews it, following ETSI EN 319 142-1
(PAdES B-LTA): the validation data of the newest time-stamp's TSA goes into the
document security store (DSS), and a new document time-stamp covers everything.

A file without any document time-stamp first gets the validation data of each
signature and its signature time-stamp, so the result is B-LTA.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from asn1crypto import cms, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import DocumentSecurityStore, async_add_validation_info
from pyhanko.sign.validation.ades import ades_timestamp_validation_internal
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import PathError, ValidationError

from signing.errors import InvalidDocument, SigningError, TimestampFailed
from signing.evidence import timestamp_gen_time
from signing.fetching import open_fetcher_backend
from signing.policy import ValidationPolicy
from signing.revisions import DocumentFacts, open_pdf
from signing.signer_check import policy_validation_context
from signing.trust import signature_timestamp

__all__ = [
    "NewestTimestamp",
    "RenewalError",
    "inspect_newest_timestamp",
    "renew_archival_timestamp",
    "renewal_reasons",
]

logger = logging.getLogger(__name__)

EXPIRING = "expiring"
WEAKENING = "weakening"


class RenewalError(SigningError):
    """The archival time-stamp chain could not be renewed, for the reason in ``detail``."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"archival time-stamp renewal failed: {detail}")
        self.detail = detail


@dataclass(frozen=True)
class NewestTimestamp:
    """The newest time-stamp of a PDF and the TSA certificate that signed it."""

    kind: str
    """``document`` for a document time-stamp, ``signature`` for a signature time-stamp."""
    field_name: str
    time: datetime
    """The token's genTime."""
    tsa_subject: str | None
    tsa_not_after: datetime | None
    """End of the TSA certificate's validity, None when the token does not contain the certificate."""
    digest_algorithm: str
    """Digest algorithm of the message imprint, e.g. ``sha256``."""


def inspect_newest_timestamp(data: bytes) -> NewestTimestamp | None:
    """Describe the newest time-stamp of a PDF, or return None when it has none.

    Raises :class:`~signing.errors.InvalidDocument` for bytes that are not a readable PDF.
    """
    reader = open_pdf(data)
    document = DocumentFacts.read(reader, data)
    candidates = [entry for entry in document.timestamps if entry.signature is not None]
    if candidates:
        entry = candidates[-1]
        return _describe(entry.signature.signed_data, "document", entry.name)
    for entry in reversed(document.signatures):
        if entry.signature is None:
            continue
        token = signature_timestamp(entry.signature)
        if token is not None:
            return _describe(token, "signature", entry.name)
    return None


def renewal_reasons(
    newest: NewestTimestamp, policy: ValidationPolicy, *, margin: timedelta, at: datetime | None = None
) -> tuple[str, ...]:
    """Return why the newest time-stamp needs renewal at ``at`` (default: now); empty when it does not.

    ``expiring``: the TSA certificate expires within ``margin`` after ``at``, or
    its end of validity is unknown. ``weakening``: the message imprint uses a
    digest algorithm in the policy's ``renewal_digest_algorithms``.

    NOTE: the TSA's own signature algorithm is not checked, because the TSA
    chooses it and a renewal with the same TSA would not change it.
    """
    at = at or datetime.now(timezone.utc)
    reasons = []
    if newest.tsa_not_after is None or newest.tsa_not_after - at <= margin:
        reasons.append(EXPIRING)
    if newest.digest_algorithm in policy.renewal_digest_algorithms:
        reasons.append(WEAKENING)
    return tuple(reasons)


def renew_archival_timestamp(
    data: bytes, timestamper: TimeStamper, policy: ValidationPolicy, *, at: datetime | None = None
) -> bytes:
    """Add the newest time-stamp's validation data and a new document time-stamp to ``data``.

    The newest time-stamp and the new one are validated under ``policy`` at
    ``at`` (default: now), with fetching as the policy allows. Their
    certificates, CRLs and OCSP responses go into the DSS. The new time-stamp
    uses the first of the policy's digest algorithms that is not due for
    renewal. Returns the new PDF, whose prefix is ``data``.

    Raises :class:`RenewalError` when the newest time-stamp no longer
    validates (its TSA certificate expired or was revoked: the chain can then
    no longer be extended), :class:`~signing.errors.TimestampFailed` when the
    TSA fails, and :class:`~signing.errors.InvalidDocument` for an unreadable PDF.
    Runs its own event loop, so it must not be called from a coroutine.
    """
    if at is not None and at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    md_algorithm = renewal_digest_algorithm(policy)
    output = asyncio.run(_renew(data, timestamper, policy, md_algorithm, at))
    renewed = output.getvalue()
    logger.info("renewed archival time-stamp chain: %d bytes in, %d bytes out, digest %s",
                len(data), len(renewed), md_algorithm)
    return renewed


def renewal_digest_algorithm(policy: ValidationPolicy) -> str:
    """Return the first digest algorithm that the policy accepts and does not mark for renewal."""
    for name in policy.digest_algorithms:
        if name not in policy.renewal_digest_algorithms:
            return name
    raise RenewalError("every digest algorithm of the policy is marked for renewal")


async def _renew(
    data: bytes, timestamper: TimeStamper, policy: ValidationPolicy, md_algorithm: str, at: datetime | None
) -> io.BytesIO:
    async with open_fetcher_backend(policy) as (backend, record):
        context = policy_validation_context(policy, backend if record is not None else None, at)
        try:
            data = await _add_signature_validation_data(data, context)
            return await _extend_chain(data, timestamper, context, md_algorithm)
        except TimestampRequestError as exc:
            raise TimestampFailed(str(exc)) from exc
        except (PathError, ValidationError) as exc:
            raise RenewalError(f"a certificate could not be validated under the policy: {exc}") from exc
        except PdfError as exc:
            raise InvalidDocument("malformed_pdf", f"pyHanko cannot update the PDF: {exc}") from exc
        except OSError as exc:
            # The PDF is in memory, so an OSError comes from an HTTP request.
            raise TimestampFailed(repr(exc)) from exc


async def _add_signature_validation_data(data: bytes, context: ValidationContext) -> bytes:
    """Add each signature's validation data when the file has no document time-stamp yet.

    With a document time-stamp, the signatures' data is already protected by
    it, and only the time-stamp chain needs extending.
    """
    document = DocumentFacts.read(open_pdf(data), data)
    if any(entry.signature is not None for entry in document.timestamps):
        return data
    for entry in document.signatures:
        if entry.signature is None:
            continue
        reader = open_pdf(data)
        signature = next(sig for sig in reader.embedded_regular_signatures if sig.field_name == entry.signature.field_name)
        output = io.BytesIO()
        await async_add_validation_info(signature, context, output=output)
        data = output.getvalue()
    return data


async def _extend_chain(
    data: bytes, timestamper: TimeStamper, context: ValidationContext, md_algorithm: str
) -> io.BytesIO:
    """Validate the newest time-stamp, store its validation data, and add a document time-stamp.

    This is pyHanko's ``update_archival_timestamp_chain`` (0.38) with the
    digest algorithm chosen by the caller: pyHanko reuses the previous
    time-stamp's algorithm, which would keep a weakening one forever.
    """
    reader = open_pdf(data)
    output = io.BytesIO(data)
    output.seek(0, io.SEEK_END)
    writer = IncrementalPdfFileWriter(output, strict=False)

    timestamps = list(reader.embedded_timestamp_signatures)
    if timestamps:
        last = timestamps[-1]
        result = await ades_timestamp_validation_internal(
            last.signed_data,
            validation_context=context,
            expected_tst_imprint=last.compute_digest,
            ts_qualification_requirements=None,
        )
        if result.ades_subindic != AdESPassed.OK or result.api_status is None:
            raise RenewalError(
                f"the newest document time-stamp {last.field_name!r} does not validate: "
                f"{result.ades_subindic.standard_name} {result.failure_msg or ''}".strip()
            )
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            last.pkcs7_content,
            paths=(result.api_status.validation_path,),
            validation_context=context,
        )

    await PdfTimeStamper(timestamper).async_timestamp_pdf(writer, md_algorithm, context, in_place=True)
    return output


def _describe(token: cms.ContentInfo | cms.SignedData, kind: str, field_name: str) -> NewestTimestamp:
    signed_data = token["content"] if isinstance(token, cms.ContentInfo) else token
    tst_info = signed_data["encap_content_info"]["content"].parsed
    certificate = _tsa_certificate(signed_data)
    return NewestTimestamp(
        kind=kind,
        field_name=field_name,
        time=timestamp_gen_time(signed_data),
        tsa_subject=certificate.subject.human_friendly if certificate is not None else None,
        tsa_not_after=certificate.not_valid_after if certificate is not None else None,
        digest_algorithm=tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native,
    )


def _tsa_certificate(signed_data: cms.SignedData) -> x509.Certificate | None:
    signer_id = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"]:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if signer_id.name == "issuer_and_serial_number":
            reference = signer_id.chosen
            if cert.serial_number == reference["serial_number"].native and cert.issuer == reference["issuer"]:
                return cert
        elif cert.key_identifier == signer_id.chosen.native:
            return cert
    return None
