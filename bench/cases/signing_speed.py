"""In-process signing: Dolil against plain pyHanko, tuned pyHanko and the hardware limit."""

from __future__ import annotations

import hashlib
import io
import logging

from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers

from bench.context import SAMPLE_LABEL, RunContext, describe_document
from bench.results import Row, Section, Target
from bench.stats import interleaved
from bench.threads import on_worker_thread
from signing.credentials import load_pkcs12_signer
from signing.sign import SigningProfile, sign_pdf

logger = logging.getLogger(__name__)

METHOD = """\
Each signature is PAdES B-B (ETSI.CAdES.detached, SHA-256) with the development
officer's RSA-2048 key from its PKCS#12 file, written to memory. The variants run
in turn within each repetition, after one warm-up round:

- **Dolil**: `signing.credentials.load_pkcs12_signer` (cached after the first call)
  and `signing.sign.sign_pdf`, as the service calls them for every request.
- **plain pyHanko**: as pyHanko's documentation shows it, `SimpleSigner.load_pkcs12`
  and `signers.sign_pdf` for every signature. pyHanko then parses the private key
  for each RSA operation and signs twice, once to estimate the signature size.
- **tuned pyHanko**: the key parsed once (a `SimpleSigner` whose `sign_raw` uses a
  loaded `cryptography` key) and `PdfSigner.sign_pdf` with `bytes_reserved` set to
  the size pyHanko's own estimate produced, so no estimation pass runs.
- **hardware limit**: SHA-256 over the whole file plus one RSA-2048 PKCS#1 v1.5
  signature of that digest, with `cryptography`. No signer can do less work.

All four run on a worker thread, as the service's request handlers do (gunicorn's
sync workers replace the SIGINT handler, Werkzeug's threaded server runs requests
off the main thread). The row "called from the main thread" times Dolil's call
again from the main thread with Python's default SIGINT handler, as a command-line
tool or batch job would call it. There CPython 3.11's `asyncio.run` installs and
later restores a SIGINT handler, and restoring it formats the repr of the
finished task, whose result is the signed PDF.
"""


class _LoadedKeySigner(signers.SimpleSigner):
    """A SimpleSigner that signs RSA PKCS#1 v1.5 with a key parsed once."""

    def __init__(self, private_key: RSAPrivateKey, **kwargs) -> None:
        super().__init__(**kwargs)
        self._loaded_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if digest_algorithm != "sha256":
            return super().sign_raw(data, digest_algorithm)
        return self._loaded_key.sign(data, PKCS1v15(), SHA256())


def _metadata() -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name="Signature1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )


def _reserved_hex_digits(signed: bytes) -> int:
    """Return the length of the /Contents placeholder of the first signature, in hex digits."""
    reader = PdfFileReader(io.BytesIO(signed))
    contents = reader.embedded_signatures[0].sig_object.raw_get("/Contents")
    return 2 * len(contents.original_bytes)


def run(context: RunContext, section: Section) -> None:
    p12_path = context.pki.officer_p12_path
    passphrase = context.officer_passphrase

    private_key, _, _ = pkcs12.load_key_and_certificates(p12_path.read_bytes(), passphrase)
    assert isinstance(private_key, RSAPrivateKey)
    plain_signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=passphrase)
    tuned_signer = _LoadedKeySigner(
        private_key,
        signing_cert=plain_signer.signing_cert,
        signing_key=plain_signer.signing_key,
        cert_registry=plain_signer.cert_registry,
    )

    documents = context.documents(context.config.sign_sizes)
    largest_label = documents[-1][0]
    for label, data in documents:
        def dolil(data: bytes = data) -> bytes:
            signer = load_pkcs12_signer(p12_path, passphrase)
            return sign_pdf(data, signer, SigningProfile())

        def plain(data: bytes = data) -> bytes:
            signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=passphrase)
            output = io.BytesIO()
            signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), _metadata(), signer=signer, output=output)
            return output.getvalue()

        reserved = _reserved_hex_digits(plain())

        def tuned(data: bytes = data) -> bytes:
            output = io.BytesIO()
            pdf_signer = signers.PdfSigner(_metadata(), signer=tuned_signer)
            pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), bytes_reserved=reserved, output=output)
            return output.getvalue()

        def hardware(data: bytes = data) -> bytes:
            digest = hashlib.sha256(data).digest()
            return private_key.sign(digest, PKCS1v15(), Prehashed(SHA256()))

        repetitions = context.config.repetitions_for(len(data))
        logger.info("signing %s: %d repetitions", label, repetitions)
        timings = on_worker_thread(lambda: interleaved(
            {"dolil": dolil, "plain": plain, "tuned": tuned, "hardware": hardware}, repetitions
        ))
        main_thread = interleaved({"dolil": dolil}, repetitions)["dolil"]
        case = f"sign {describe_document(label, len(data))}"
        section.rows.append(Row(
            case, "ms", timings["dolil"], "plain pyHanko", timings["plain"],
            Target("≥ 8x faster (ratio ≤ 0.125)", 0.125) if label == SAMPLE_LABEL else None,
        ))
        section.rows.append(Row(case, "ms", timings["dolil"], "tuned pyHanko", timings["tuned"],
                                Target("≤ 1.2x", 1.2)))
        section.rows.append(Row(
            case, "ms", timings["dolil"], "hardware limit", timings["hardware"],
            Target("≤ 3x", 3.0) if label == largest_label and not context.config.smoke else None,
        ))
        section.rows.append(Row(
            f"{case}, called from the main thread", "ms", main_thread, "Dolil on a worker thread", timings["dolil"],
        ))
