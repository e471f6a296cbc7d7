"""Builders of signed PDFs in the shapes that Acrobat and other signing tools write.

Every file is generated at test time from a one-page PDF written with pikepdf
or object by object here, signed with pyHanko and, where a tool writes
something pyHanko does not, changed with byte edits. The shapes:

- Acrobat's legacy signature: /Filter /Adobe.PPKLite, /SubFilter
  /adbe.pkcs7.detached, a /Prop_Build dictionary, /M, /Reason and /Location.
- A hybrid-reference file (ISO 32000-1, 7.5.8.4): a classic cross-reference
  table whose trailer points with /XRefStm to a cross-reference stream that
  lists the objects kept in an object stream. Signed, then updated with a DSS.
- Two signatures, each followed by a DSS update with a /VRI entry, keyed by
  the upper-case hexadecimal SHA-1 of the signature's /Contents as Acrobat
  writes it.
- A linearized original signed incrementally.
- An update with a classic cross-reference table after an original that uses
  cross-reference streams, as tools that only write tables do.
- Damage that makes pyHanko's strict reader fail while its non-strict reader
  copes: a ``startxref`` a few bytes off.
- A legacy /adbe.pkcs7.sha1 signature, whose SignedData encapsulates the SHA-1
  digest of the byte range (ISO 32000-1, 12.8.3.3.1), and a legacy
  /adbe.x509.rsa_sha1 signature: a bare PKCS#1 RSA signature with the
  certificate in /Cert (ISO 32000-1, 12.8.3.2).
- An /ETSI.CAdES.detached signature as libraries without PAdES support write
  it: signed attributes content-type, signing-time and message-digest, and no
  ESS signing-certificate-v2.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from datetime import datetime, timezone

import pikepdf
from asn1crypto import algos, cms, core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import PdfSignatureMetadata
from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder, SigIOSetup, SigObjSetup
from pyhanko.sign.signers.pdf_byterange import BuildProps, SignatureObject
from pyhanko.sign.signers.pdf_cms import SimpleSigner
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko_certvalidator import ValidationContext

# --- unsigned originals -----------------------------------------------------------------

PAGE_TEXT = b"BT /F1 18 Tf 72 720 Td (Minutes of the e-governance review meeting) Tj ET\n"


def plain_pdf(**save_options: object) -> bytes:
    """A one-page PDF written by pikepdf (qpdf), with ``save_options`` for ``Pdf.save``."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(PAGE_TEXT),
    )
    pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Title"] = "Minutes"
    output = io.BytesIO()
    pdf.save(output, **save_options)
    return output.getvalue()


def hybrid_reference_pdf() -> bytes:
    """A one-page PDF with a classic xref table plus /XRefStm, written object by object.

    Objects 1 to 4 (catalog, page tree, page, content stream) are listed in the
    table. The font (5) and the document information (6) live in the object
    stream 7, and only the cross-reference stream 8 lists them, so a reader
    that ignores /XRefStm finds no font (ISO 32000-1, 7.5.8.4).
    """
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def put(number: int, body: bytes) -> None:
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    put(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    put(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
           b"/Contents 4 0 R >>")
    put(4, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(PAGE_TEXT), PAGE_TEXT))

    inner = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b"<< /Title (Minutes) >>"]
    header = b""
    body = b""
    for number, obj in zip((5, 6), inner):
        header += b"%d %d " % (number, len(body))
        body += obj + b"\n"
    put(7, b"<< /Type /ObjStm /N 2 /First %d /Length %d >>\nstream\n%s%s\nendstream"
        % (len(header), len(header) + len(body), header, body))

    xref_stream_offset = len(out)
    offsets[8] = xref_stream_offset
    rows = b"".join(bytes([2]) + (7).to_bytes(4, "big") + index.to_bytes(2, "big") for index in (0, 1))
    rows += bytes([1]) + offsets[7].to_bytes(4, "big") + (0).to_bytes(2, "big")
    rows += bytes([1]) + xref_stream_offset.to_bytes(4, "big") + (0).to_bytes(2, "big")
    out.extend(b"8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Index [5 4] /Length %d >>\nstream\n" % len(rows))
    out.extend(rows + b"\nendstream\nendobj\n")

    table_offset = len(out)
    # The table leaves the compressed objects out: two subsections, 0-4 and 7-8.
    out.extend(b"xref\n0 5\n0000000000 65535 f \n")
    for number in (1, 2, 3, 4):
        out.extend(b"%010d 00000 n \n" % offsets[number])
    out.extend(b"7 2\n")
    for number in (7, 8):
        out.extend(b"%010d 00000 n \n" % offsets[number])
    out.extend(b"trailer\n<< /Size 9 /Root 1 0 R /Info 6 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n"
               % (xref_stream_offset, table_offset))
    return bytes(out)


def shifted_startxref_pdf(shift: int = 2) -> bytes:
    """A pikepdf PDF whose ``startxref`` points ``shift`` bytes into its cross-reference table.

    pyHanko's strict reader rejects the file ("Failed to locate xref section").
    Its non-strict reader, like qpdf and most viewers, searches for the table
    nearby.
    """
    data = plain_pdf()
    match = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    assert match is not None
    wrong = b"%d" % (int(match.group(1)) + shift)
    return data[: match.start(1)] + wrong + data[match.end(1) :]


JUNK_LINE = b"X-Mailer-Preamble: forwarded attachment\r\n"
"""A line that a mail gateway or web form puts before ``%PDF-``.

Readers such as Acrobat accept up to 1024 bytes before the header and count
offsets from it, while ISO 32000-1, 7.5.2, puts the header at offset 0.
"""


# --- signing -----------------------------------------------------------------------------


def _writer(data: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(data), strict=False)


def sign_pades(data: bytes, signer: SimpleSigner, field_name: str = "Signature1") -> bytes:
    """Sign ``data`` as pyHanko does by default: /ETSI.CAdES.detached, PAdES B-B."""
    metadata = PdfSignatureMetadata(field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(_writer(data), metadata, signer=signer).getvalue()


def sign_like_acrobat(data: bytes, signer: SimpleSigner, *, table_update: bool = False) -> bytes:
    """Sign as Acrobat's default "Adobe.PPKLite" handler: /adbe.pkcs7.detached with /Prop_Build.

    With ``table_update`` the incremental update gets a classic cross-reference
    table even when the original uses cross-reference streams.
    """
    metadata = PdfSignatureMetadata(
        field_name="Signature1",
        subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
        reason="I approve these minutes",
        location="Dhaka",
        name="Valid Signer",
        app_build_props=BuildProps(name="Adobe Acrobat Reader", revision="2023.008.20470"),
    )
    writer = _writer(data)
    if table_update:
        writer.stream_xrefs = False
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def validation_context(live_pki) -> ValidationContext:
    """A pyHanko validation context that fetches OCSP responses and CRLs from the test PKI only."""
    return ValidationContext(
        trust_roots=[live_pki.root], other_certs=list(live_pki.intermediates), allow_fetching=True
    )


def add_dss_with_vri(data: bytes, live_pki, field_name: str) -> bytes:
    """Append a DSS update with the validation data of one signature and an Acrobat /VRI entry.

    The /VRI key is the upper-case hexadecimal SHA-1 of the /Contents string's
    bytes, zero padding included, as Acrobat writes it. pyHanko 0.38's own
    ``add_validation_info`` hashes the hexadecimal text instead.
    """
    return asyncio.run(_add_dss_with_vri(data, live_pki, field_name))


async def _add_dss_with_vri(data: bytes, live_pki, field_name: str) -> bytes:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signature = next(sig for sig in reader.embedded_regular_signatures if sig.field_name == field_name)
    context = validation_context(live_pki)
    paths = await collect_validation_info(signature, context)
    writer = IncrementalPdfFileWriter.from_reader(reader)
    contents = signature.sig_object.raw_get("/Contents").original_bytes
    DocumentSecurityStore.supply_dss_in_writer(writer, contents, validation_context=context, paths=paths)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# --- signatures with a hand-made CMS ---------------------------------------------------------


def sign_pkcs7_sha1(data: bytes, signer: SimpleSigner) -> bytes:
    """Sign with /SubFilter /adbe.pkcs7.sha1: SignedData whose content is the SHA-1 of the byte range."""

    return asyncio.run(_embed(data, signer, "/adbe.pkcs7.sha1", "sha1", encapsulate=True))


def sign_x509_rsa_sha1(data: bytes, signer: SimpleSigner) -> bytes:
    """Sign with /SubFilter /adbe.x509.rsa_sha1: a PKCS#1 v1.5 RSA signature, the certificate in /Cert.

    ``signer`` must have an RSA key, such as the development PKI's officer.
    """
    return asyncio.run(_embed_x509_rsa_sha1(data, signer))


async def _embed_x509_rsa_sha1(data: bytes, signer: SimpleSigner) -> bytes:
    writer = _writer(data)
    embedder = PdfCMSEmbedder().write_cms(field_name="Signature1", writer=writer)
    next(embedder)
    placeholder = SignatureObject(bytes_reserved=2048, timestamp=datetime.now(timezone.utc))
    placeholder["/SubFilter"] = generic.NameObject("/adbe.x509.rsa_sha1")
    placeholder["/Cert"] = generic.ArrayObject([generic.ByteStringObject(signer.signing_cert.dump())])
    embedder.send(SigObjSetup(sig_placeholder=placeholder))
    prepared, output = embedder.send(SigIOSetup(md_algorithm="sha1"))
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    value = key.sign(prepared.document_digest, padding.PKCS1v15(), Prehashed(hashes.SHA1()))
    embedder.send(core.OctetString(value).dump())
    return output.getvalue()


def sign_cades_without_ess(data: bytes, signer: SimpleSigner) -> bytes:
    """Sign with /ETSI.CAdES.detached but signed attributes without ESS signing-certificate-v2."""
    return asyncio.run(_embed(data, signer, "/ETSI.CAdES.detached", "sha256", encapsulate=False))


async def _embed(data: bytes, signer: SimpleSigner, subfilter: str, digest_algorithm: str, *,
                 encapsulate: bool) -> bytes:
    writer = _writer(data)
    embedder = PdfCMSEmbedder().write_cms(field_name="Signature1", writer=writer)
    next(embedder)
    placeholder = SignatureObject(bytes_reserved=8192, timestamp=datetime.now(timezone.utc))
    placeholder["/SubFilter"] = generic.NameObject(subfilter)
    embedder.send(SigObjSetup(sig_placeholder=placeholder))
    prepared, output = embedder.send(SigIOSetup(md_algorithm=digest_algorithm))
    signed_data = _signed_data(signer, digest_algorithm, prepared.document_digest, encapsulate=encapsulate)
    embedder.send(signed_data)
    return output.getvalue()


def _signed_data(signer: SimpleSigner, digest_algorithm: str, document_digest: bytes, *,
                 encapsulate: bool) -> cms.ContentInfo:
    """Build SignedData as generic CMS libraries do: no ESS attribute, signing-time included."""
    certificate = signer.signing_cert
    if encapsulate:
        # adbe.pkcs7.sha1: the document digest is the signed content.
        encap = cms.ContentInfo(
            {"content_type": "data", "content": document_digest}
        )
        message_digest = hashlib.new(digest_algorithm, document_digest).digest()
    else:
        encap = cms.ContentInfo({"content_type": "data"})
        message_digest = document_digest
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": datetime.now(timezone.utc)})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        ]
    )
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    hash_class = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}[digest_algorithm]
    signature = key.sign(attributes.dump(), ec.ECDSA(hash_class()))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}),
            "signed_attrs": attributes,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": f"{digest_algorithm}_ecdsa"}),
            "signature": signature,
        }
    )
    certificates = [certificate, *signer.cert_registry]
    return cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": cms.SignedData(
                {
                    "version": "v1",
                    "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_algorithm})],
                    "encap_content_info": encap,
                    "certificates": certificates,
                    "signer_infos": [signer_info],
                }
            ),
        }
    )


# --- the corpus ------------------------------------------------------------------------------


def build_corpus(live_pki) -> dict[str, bytes]:
    """Generate every file of the corpus, signed by the test PKI's valid signer, by name."""
    signer = live_pki.signer("valid")
    corpus: dict[str, bytes] = {}

    corpus["acrobat_pkcs7_detached"] = sign_like_acrobat(plain_pdf(), signer)

    hybrid = sign_pades(hybrid_reference_pdf(), signer)
    corpus["hybrid_signed_then_dss"] = add_dss_with_vri(hybrid, live_pki, "Signature1")

    first = add_dss_with_vri(sign_pades(plain_pdf(), signer), live_pki, "Signature1")
    second = sign_pades(first, signer, field_name="Signature2")
    corpus["two_signatures_with_dss"] = add_dss_with_vri(second, live_pki, "Signature2")

    corpus["linearized_signed"] = sign_pades(plain_pdf(linearize=True), signer)
    corpus["table_update_after_xref_stream"] = sign_like_acrobat(
        plain_pdf(object_stream_mode=pikepdf.ObjectStreamMode.generate), signer, table_update=True
    )
    corpus["shifted_startxref"] = sign_pades(shifted_startxref_pdf(), signer)
    corpus["pkcs7_sha1"] = sign_pkcs7_sha1(plain_pdf(), signer)
    corpus["cades_without_ess"] = sign_cades_without_ess(plain_pdf(), signer)
    return corpus


def flip_signed_byte(data: bytes) -> bytes:
    """Change one byte of the binary comment after the header, which every signature covers."""
    comment = data.index(b"\n%", 0, 32) + 2
    return data[:comment] + bytes([data[comment] ^ 1]) + data[comment + 1 :]
