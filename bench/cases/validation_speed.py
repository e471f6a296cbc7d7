"""In-process validation of PAdES signatures at each level that Dolil can produce: Dolil against plain pyHanko."""

from __future__ import annotations

import inspect
import io
import logging

from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from bench.context import SAMPLE_LABEL, RunContext, describe_document
from bench.results import Row, Section
from bench.stats import interleaved
from bench.threads import on_worker_thread
from service.api.documents import SUPPORTED_LEVELS
from signing.credentials import load_pkcs12_signer
from signing.devpki import issue_certificate
from signing.errors import SigningError
from signing.sign import SigningProfile, sign_pdf
from signing.validation import ValidationPolicy, load_certificates, validate_pdf

logger = logging.getLogger(__name__)

LONG_TERM_LEVELS = ("B-LT", "B-LTA")

METHOD = """\
Documents signed once by `signing.sign.sign_pdf`, then validated repeatedly in
memory against the development root and intermediate, revocation soft-fail,
nothing fetched:

- **Dolil**: `signing.validation.validate_pdf`, which runs pyHanko's AdES
  validation and also reviews every revision added after each signature.
- **plain pyHanko**: as its documentation shows it, `PdfFileReader`,
  `validate_pdf_signature(embedded_signatures[0], ValidationContext(trust_roots=...,
  other_certs=...))`, with a new validation context per document. It checks
  the first signature only, so for B-LTA it leaves out the document time-stamp.

Both run on a worker thread, as in the service. B-T and later levels carry a
signature time-stamp from pyHanko's `DummyTimeStamper`, called in-process with a
time-stamping certificate issued by the development intermediate CA, so no HTTP
request is timed.
"""


def _timestamper(context: RunContext) -> DummyTimeStamper:
    """Return an in-process time-stamping authority whose certificate chains to the development root."""
    issued = issue_certificate(
        context.pki,
        "Dolil Benchmark Time-Stamping Authority",
        key_usage=("digital_signature",),
        extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING],
        extended_key_usage_critical=True,
    )
    tsa_key = asn1_keys.PrivateKeyInfo.load(issued.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ))
    intermediate = load_certificates(context.pki.intermediates_dir)
    certs_to_embed = SimpleCertificateStore()
    certs_to_embed.register_multiple([issued.asn1_certificate, *intermediate])
    return DummyTimeStamper(tsa_cert=issued.asn1_certificate, tsa_key=tsa_key, certs_to_embed=certs_to_embed)


def run(context: RunContext, section: Section) -> None:
    roots = load_certificates(context.pki.trust_dir)
    intermediates = load_certificates(context.pki.intermediates_dir)
    policy = ValidationPolicy(trust_roots=roots, intermediates=intermediates, revocation_mode="soft-fail",
                              name="bench")
    signer = load_pkcs12_signer(context.pki.officer_p12_path, context.officer_passphrase)
    timestamper = _timestamper(context)

    sizes = context.config.sign_sizes[:1]
    cases: list[tuple[str, str, bytes]] = []
    for label, data in context.documents(sizes):
        cases.append(("B-B", label, on_worker_thread(lambda: sign_pdf(data, signer, SigningProfile()))))
    sample = context.sample()
    cases.append(("B-T", SAMPLE_LABEL, on_worker_thread(
        lambda: sign_pdf(sample, signer, SigningProfile(level="B-T"), timestamper=timestamper))))
    for level in LONG_TERM_LEVELS:
        signed = _sign_long_term(sample, signer, level, timestamper, policy, section)
        if signed is not None:
            cases.append((level, SAMPLE_LABEL, signed))

    for level, label, signed in cases:
        def dolil(signed: bytes = signed) -> str:
            return validate_pdf(signed, policy).indication

        def plain(signed: bytes = signed) -> bool:
            reader = PdfFileReader(io.BytesIO(signed))
            validation_context = ValidationContext(trust_roots=list(roots), other_certs=list(intermediates))
            return validate_pdf_signature(reader.embedded_signatures[0], validation_context).bottom_line

        indication, bottom_line = on_worker_thread(dolil), on_worker_thread(plain)
        repetitions = context.config.repetitions_for(len(signed))
        logger.info("validating %s %s: %d repetitions", level, label, repetitions)
        timings = on_worker_thread(lambda: interleaved({"dolil": dolil, "plain": plain}, repetitions))
        section.rows.append(Row(
            f"validate {level}, {describe_document(label, len(signed))}", "ms", timings["dolil"],
            "plain pyHanko", timings["plain"],
            note=f"Dolil: {indication}; pyHanko bottom_line: {bottom_line}",
        ))


def _sign_long_term(sample: bytes, signer, level: str, timestamper: DummyTimeStamper, policy: ValidationPolicy,
                    section: Section) -> bytes | None:
    """Sign at B-LT or B-LTA if ``sign_pdf`` can; otherwise add a note to ``section`` and return None."""
    keywords: dict[str, object] = {"timestamper": timestamper}
    # Long-term levels need the policy to collect validation data; older
    # versions of sign_pdf take no policy and cannot produce these levels.
    if "policy" in inspect.signature(sign_pdf).parameters:
        keywords["policy"] = policy
    try:
        signed = on_worker_thread(lambda: sign_pdf(sample, signer, SigningProfile(level=level), **keywords))
    except SigningError as error:
        section.notes.append(f"{level} skipped: `signing.sign.sign_pdf` cannot produce it ({error}).")
        return None
    if level not in SUPPORTED_LEVELS:
        section.notes.append(
            f"{level}: signed with `signing.sign.sign_pdf` directly, because the API "
            f"(`POST /api/v1/documents/{{id}}/signatures`) offers only {', '.join(SUPPORTED_LEVELS)} so far. "
            "The development PKI publishes no CRL or OCSP, so the embedded validation data holds "
            "certificates only."
        )
    return signed
