from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.devpki import DevPki, ensure_dev_pki
from signing.errors import InvalidDocument
from signing.sign import SigningProfile, sign_pdf
from signing.validation import ValidationPolicy, load_certificates, validate_pdf

SAMPLE_PDF = Path(__file__).resolve().parents[2] / "samples" / "minutes-2021-09-20.pdf"


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE_PDF.read_bytes()


@pytest.fixture(scope="module")
def signed(sample: bytes, officer_signer) -> bytes:
    """The sample with one PAdES B-B signature by the development officer."""
    return sign_pdf(sample, officer_signer, SigningProfile(level="B-B"))


def _policy(dev_pki: DevPki, **settings) -> ValidationPolicy:
    return ValidationPolicy(
        trust_roots=load_certificates(dev_pki.trust_dir),
        intermediates=load_certificates(dev_pki.intermediates_dir),
        **settings,
    )


@pytest.fixture(scope="module")
def soft_fail(dev_pki: DevPki) -> ValidationPolicy:
    return _policy(dev_pki, revocation_mode="soft-fail", name="test-soft-fail")


@pytest.fixture(scope="module")
def hard_fail(dev_pki: DevPki) -> ValidationPolicy:
    return _policy(dev_pki, revocation_mode="hard-fail", name="test-hard-fail")


def _incremental_update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_valid_signature_soft_fail_passes(signed, soft_fail, officer_signer):
    report = validate_pdf(signed, soft_fail)

    assert report.indication == "TOTAL_PASSED"
    assert report.policy == "test-soft-fail"
    assert report.policy_fingerprint == soft_fail.fingerprint()
    assert report.trailing_bytes == 0
    (signature,) = report.signatures
    assert signature.indication == "TOTAL_PASSED"
    assert signature.sub_indication is None
    assert signature.level == "B-B"
    assert signature.coverage == "ENTIRE_FILE"
    assert signature.modified_after_signing is False
    assert signature.revisions_after == 0
    assert signature.changes == ()
    assert signature.signer_serial == format(officer_signer.signing_cert.serial_number, "x")
    assert "Dolil Development Officer" in signature.signer_subject
    assert len(signature.chain) == 3
    assert "Root CA" in signature.chain[-1]
    assert signature.signing_time is not None
    assert signature.timestamp_time is None
    assert signature.revocation == {
        "mode": "soft-fail",
        "checked": False,
        "status": "not_checked",
        "note": signature.revocation["note"],
        "revoked_at": None,
        "reason": None,
        "evidence": [],
    }
    assert signature.poe_time is None
    assert signature.timestamps == ()
    assert any("revocation status not checked" in warning for warning in signature.warnings)


def test_report_to_dict_is_json(signed, soft_fail):
    report = validate_pdf(signed, soft_fail)

    document = json.loads(json.dumps(report.to_dict()))

    assert document["indication"] == "TOTAL_PASSED"
    assert document["validated_at"].endswith("Z")
    assert document["signatures"][0]["chain"] == list(report.signatures[0].chain)
    assert document["signatures"][0]["signing_time"].endswith("Z")


def test_valid_signature_hard_fail_try_later(signed, hard_fail):
    report = validate_pdf(signed, hard_fail)

    (signature,) = report.signatures
    assert report.indication == "INDETERMINATE"
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "TRY_LATER"
    assert signature.revocation["checked"] is False
    assert signature.revocation["status"] == "unknown"
    assert signature.revocation["mode"] == "hard-fail"


def test_untrusted_root_no_chain(signed, tmp_path_factory):
    # Another development PKI has a root with the same name but another key.
    other = ensure_dev_pki(tmp_path_factory.mktemp("other-pki"))
    policy = _policy(other, revocation_mode="soft-fail")

    (signature,) = validate_pdf(signed, policy).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert signature.chain == ()


def test_empty_trust_roots_no_chain(signed):
    policy = ValidationPolicy(trust_roots=(), revocation_mode="soft-fail")

    (signature,) = validate_pdf(signed, policy).signatures

    assert signature.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"


def test_flipped_byte_hash_failure(signed, soft_fail):
    position = signed.index(b"WeasyPrint")
    assert position < signed.index(b"/ByteRange")
    tampered = signed[:position] + b"V" + signed[position + 1 :]

    (signature,) = validate_pdf(tampered, soft_fail).signatures

    assert signature.indication == "TOTAL_FAILED"
    assert signature.sub_indication == "HASH_FAILURE"


@pytest.mark.parametrize(
    "appended",
    [
        b"\n% appended after signing\n",
        b"%%EOF\n",
        bytes(range(256)) * 20,
    ],
    ids=["comment", "eof-marker", "binary-5k"],
)
def test_appended_bytes_not_passed(signed, soft_fail, appended):
    report = validate_pdf(signed + appended, soft_fail)

    (signature,) = report.signatures
    assert report.trailing_bytes == len(appended)
    assert report.indication == "INDETERMINATE"
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "FORMAT_FAILURE"
    assert signature.coverage != "ENTIRE_FILE"
    assert signature.modified_after_signing is True
    assert any("after %%EOF" in change for change in signature.changes)


def test_info_update_not_passed(signed, soft_fail):
    def set_title(writer: IncrementalPdfFileWriter) -> None:
        info = writer.trailer["/Info"]
        info["/Title"] = generic.TextStringObject("Minutes, amended")
        writer.mark_update(writer.trailer.raw_get("/Info"))

    (signature,) = validate_pdf(_incremental_update(signed, set_title), soft_fail).signatures

    assert signature.indication != "TOTAL_PASSED"
    assert signature.sub_indication == "FORMAT_FAILURE"
    assert signature.revisions_after == 1
    assert signature.modified_after_signing is True
    info_changes = [change for change in signature.changes if "document information dictionary" in change]
    assert len(info_changes) == 1
    assert "revision 2" in info_changes[0]
    assert "/Title" in info_changes[0]


def test_annotation_added_not_passed(signed, soft_fail):
    def annotate(writer: IncrementalPdfFileWriter) -> None:
        page = writer.root["/Pages"]["/Kids"][0]
        note = generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject(map(generic.NumberObject, (72, 700, 92, 720))),
                generic.NameObject("/Contents"): generic.TextStringObject("Void"),
            }
        )
        page["/Annots"] = generic.ArrayObject([writer.add_object(note)])
        writer.update_container(page)

    (signature,) = validate_pdf(_incremental_update(signed, annotate), soft_fail).signatures

    assert signature.indication != "TOTAL_PASSED"
    assert signature.modified_after_signing is True
    assert signature.changes


def test_page_content_replaced_fails(signed, soft_fail):
    def replace_content(writer: IncrementalPdfFileWriter) -> None:
        page = writer.root["/Pages"]["/Kids"][0]
        stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Cancelled) Tj ET")
        page["/Contents"] = writer.add_object(stream)
        writer.update_container(page)

    (signature,) = validate_pdf(_incremental_update(signed, replace_content), soft_fail).signatures

    assert signature.indication == "TOTAL_FAILED"
    assert signature.sub_indication == "FORMAT_FAILURE"
    assert signature.modification_level == "OTHER"
    assert "content of page 1 changed in revision 2" in signature.changes


def test_two_signatures_both_pass(signed, soft_fail, officer_signer):
    cosigned = sign_pdf(signed, officer_signer, SigningProfile(level="B-B"))

    report = validate_pdf(cosigned, soft_fail)

    first, second = report.signatures
    assert report.indication == "TOTAL_PASSED"
    assert first.indication == "TOTAL_PASSED"
    assert second.indication == "TOTAL_PASSED"
    assert first.signed_revision == 1
    assert first.revisions_after == 1
    assert first.modified_after_signing is True
    assert first.modification_level in ("LTA_UPDATES", "FORM_FILLING")
    assert f"revision 2 adds signature {second.field_name!r}" in first.changes
    assert second.coverage == "ENTIRE_FILE"


def test_expired_signer_out_of_bounds(signed, soft_fail, officer_signer):
    not_after = officer_signer.signing_cert["tbs_certificate"]["validity"]["not_after"].native
    after_expiry = not_after + timedelta(days=1)

    report = validate_pdf(signed, soft_fail, now=after_expiry)

    (signature,) = report.signatures
    assert report.validated_at == after_expiry
    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "OUT_OF_BOUNDS_NO_POE"


def test_signature_timestamp_level_b_t(sample, soft_fail, officer_signer, tsa_url):
    timestamped = sign_pdf(
        sample, officer_signer, SigningProfile(level="B-T"), timestamper=HTTPTimeStamper(tsa_url)
    )

    (signature,) = validate_pdf(timestamped, soft_fail).signatures

    assert signature.level == "B-T"
    assert signature.timestamp_time is not None
    assert signature.indication == "TOTAL_PASSED"


def test_unsigned_pdf_no_signature(sample, soft_fail):
    report = validate_pdf(sample, soft_fail)

    assert report.indication == "NO_SIGNATURE"
    assert report.signatures == ()
    assert report.trailing_bytes == 0


def test_malformed_signature_contents_indeterminate(signed, soft_fail):
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    broken = signed[:start] + b"0" * (end - start) + signed[end:]

    (signature,) = validate_pdf(broken, soft_fail).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "FORMAT_FAILURE"
    assert signature.warnings


@pytest.mark.parametrize("data", [b"", b"not a PDF at all"])
def test_unreadable_pdf_raises(data, soft_fail):
    with pytest.raises(InvalidDocument):
        validate_pdf(data, soft_fail)


def test_naive_now_rejected(signed, soft_fail):
    with pytest.raises(ValueError):
        validate_pdf(signed, soft_fail, now=datetime(2030, 1, 1))


# --- policy and certificate loading --------------------------------------------------


def test_load_certificates_pem_and_der(dev_pki, tmp_path):
    (root,) = load_certificates(dev_pki.trust_dir)
    (intermediate,) = load_certificates(dev_pki.intermediates_dir)
    (tmp_path / "root.pem").write_bytes(dev_pki.root_cert_path.read_bytes())
    (tmp_path / "root-copy.CRT").write_bytes(dev_pki.root_cert_path.read_bytes())
    (tmp_path / "intermediate.der").write_bytes(intermediate.dump())
    (tmp_path / "notes.txt").write_text("not a certificate")

    loaded = load_certificates(tmp_path)

    assert [cert.sha256 for cert in loaded] == [intermediate.sha256, root.sha256]


def test_load_certificates_invalid_file(tmp_path):
    (tmp_path / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")

    with pytest.raises(ValueError, match="broken.pem"):
        load_certificates(tmp_path)


def test_policy_rejects_invalid_settings(dev_pki):
    roots = load_certificates(dev_pki.trust_dir)
    with pytest.raises(ValueError, match="revocation_mode"):
        ValidationPolicy(trust_roots=roots, revocation_mode="require")
    with pytest.raises(ValueError, match="allowed_hosts"):
        ValidationPolicy(trust_roots=roots, allow_fetching=True)


def test_policy_fingerprint_tracks_settings(dev_pki):
    roots = load_certificates(dev_pki.trust_dir)
    base = ValidationPolicy(trust_roots=roots)

    assert base.fingerprint() == ValidationPolicy(trust_roots=list(roots)).fingerprint()
    assert base == ValidationPolicy(trust_roots=load_certificates(dev_pki.trust_dir))
    assert base.fingerprint() != ValidationPolicy(trust_roots=roots, revocation_mode="soft-fail").fingerprint()
    assert base.fingerprint() != ValidationPolicy(trust_roots=()).fingerprint()
    assert base.fingerprint() != ValidationPolicy(trust_roots=roots, name="other").fingerprint()


# --- a PKI made in the test: revocation data and fetching -------------------------


@dataclass
class _ConnectionCounter:
    url: str
    count: int = 0


@pytest.fixture
def listener() -> Iterator[_ConnectionCounter]:
    """A TCP listener on 127.0.0.1 that counts connections and closes each at once."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    counter = _ConnectionCounter(url=f"http://127.0.0.1:{server.getsockname()[1]}")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            counter.count += 1
            connection.close()

    thread = threading.Thread(target=accept, name="test-fetch-listener", daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        stop.set()
        thread.join()
        server.close()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject, issuer, issuer_key, public_key, *, ca: bool, url: str | None, non_repudiation: bool = True
) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and non_repudiation,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if url is not None:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{url}/issuer.crt"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{url}/ocsp")
                    ),
                ]
            ),
            critical=False,
        ).add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(f"{url}/ca.crl")], None, None, None)]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _private_key_info(key) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


@dataclass
class _LocalPki:
    """A root, an intermediate and a signer certificate with EC keys, made in the test."""

    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey
    signer_cert: x509.Certificate
    signer: SimpleSigner
    root_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(
        cls, url: str | None = None, *, embed_intermediate: bool = True, non_repudiation: bool = True
    ) -> _LocalPki:
        root_key = ec.generate_private_key(ec.SECP256R1())
        intermediate_key = ec.generate_private_key(ec.SECP256R1())
        signer_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("Local Test Root")
        root = _certificate(root_name, root_name, root_key, root_key.public_key(), ca=True, url=None)
        intermediate = _certificate(
            _name("Local Test Intermediate"), root.subject, root_key, intermediate_key.public_key(), ca=True, url=url
        )
        signer_cert = _certificate(
            _name("Local Test Signer"),
            intermediate.subject,
            intermediate_key,
            signer_key.public_key(),
            ca=False,
            url=url,
            non_repudiation=non_repudiation,
        )
        signer = SimpleSigner(
            signing_cert=_to_asn1(signer_cert),
            signing_key=_private_key_info(signer_key),
            cert_registry=SimpleCertificateStore.from_certs([_to_asn1(intermediate)] if embed_intermediate else []),
        )
        return cls(root, intermediate, intermediate_key, signer_cert, signer, root_key)

    def timestamper(self, at: datetime) -> DummyTimeStamper:
        """A time-stamping authority issued by the intermediate that stamps the time ``at``."""
        # pyHanko's DummyTimeStamper signs with RSA keys only.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Local Test TSA"))
            .issuer_name(self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(self.intermediate_key, hashes.SHA256())
        )
        return DummyTimeStamper(
            tsa_cert=_to_asn1(cert),
            tsa_key=_private_key_info(key),
            certs_to_embed=SimpleCertificateStore.from_certs([_to_asn1(self.intermediate)]),
            fixed_dt=at,
        )

    def crls(self, *, revoke_signer_at: datetime | None = None) -> list[asn1_crl.CertificateList]:
        """CRLs from the root (for the intermediate) and the intermediate (for the signer)."""
        revoked = [(self.signer_cert.serial_number, revoke_signer_at)] if revoke_signer_at else []
        return [
            _crl(self.root, self.root_key, []),
            _crl(self.intermediate, self.intermediate_key, revoked),
        ]


def _crl(issuer: x509.Certificate, key, revoked: list[tuple[int, datetime]]) -> asn1_crl.CertificateList:
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(key, hashes.SHA256())
    return asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))


def _add_dss(data: bytes, crls: list[asn1_crl.CertificateList]) -> bytes:
    def supply(writer: IncrementalPdfFileWriter) -> None:
        DocumentSecurityStore.supply_dss_in_writer(writer, None, crls=crls)

    return _incremental_update(data, supply)


@pytest.fixture(scope="module")
def local_pki() -> _LocalPki:
    return _LocalPki.create()


def test_dss_revocation_data_passes_hard_fail(sample, local_pki):
    signed = sign_pdf(sample, local_pki.signer, SigningProfile(level="B-B"))
    with_dss = _add_dss(signed, local_pki.crls())
    policy = ValidationPolicy(trust_roots=(_to_asn1(local_pki.root),), revocation_mode="hard-fail")

    (signature,) = validate_pdf(with_dss, policy).signatures

    assert signature.indication == "TOTAL_PASSED"
    assert signature.revocation["checked"] is True
    assert signature.revocation["status"] == "good"
    assert signature.revisions_after == 1
    assert signature.modification_level == "LTA_UPDATES"
    assert "revision 2 adds or updates the document security store (DSS)" in signature.changes


def test_revoked_signer_reported(sample, local_pki):
    signed = sign_pdf(sample, local_pki.signer, SigningProfile(level="B-B"))
    revoked_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    with_dss = _add_dss(signed, local_pki.crls(revoke_signer_at=revoked_at))

    for mode in ("hard-fail", "soft-fail"):
        policy = ValidationPolicy(trust_roots=(_to_asn1(local_pki.root),), revocation_mode=mode)
        (signature,) = validate_pdf(with_dss, policy).signatures

        assert signature.indication == "INDETERMINATE"
        assert signature.sub_indication == "REVOKED_NO_POE"
        assert signature.revocation["checked"] is True
        assert signature.revocation["status"] == "revoked"


def test_signer_without_non_repudiation(sample):
    pki = _LocalPki.create(non_repudiation=False)
    # signing.sign rejects such a certificate, so pyHanko signs directly.
    writer = IncrementalPdfFileWriter(io.BytesIO(sample), strict=False)
    metadata = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    signed = signers.sign_pdf(writer, metadata, signer=pki.signer).getvalue()
    policy = ValidationPolicy(trust_roots=(_to_asn1(pki.root),), revocation_mode="soft-fail")

    (signature,) = validate_pdf(signed, policy).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication in ("CHAIN_CONSTRAINTS_FAILURE", "SIG_CONSTRAINTS_FAILURE")


def test_revoked_after_signature_timestamp_passes(sample, local_pki):
    now = datetime.now(timezone.utc)
    timestamper = local_pki.timestamper(now - timedelta(hours=2))
    signed = sign_pdf(sample, local_pki.signer, SigningProfile(level="B-T"), timestamper=timestamper)
    with_dss = _add_dss(signed, local_pki.crls(revoke_signer_at=now - timedelta(hours=1)))
    policy = ValidationPolicy(trust_roots=(_to_asn1(local_pki.root),), revocation_mode="hard-fail")

    (signature,) = validate_pdf(with_dss, policy).signatures

    assert abs(signature.timestamp_time - (now - timedelta(hours=2))) < timedelta(seconds=1)
    assert signature.indication == "TOTAL_PASSED"
    assert signature.revocation["checked"] is True
    assert signature.revocation["status"] == "revoked"
    assert signature.level == "B-LT"


@pytest.fixture
def document_with_urls(sample, listener) -> tuple[bytes, asn1_x509.Certificate]:
    """A PDF signed by a certificate whose AIA and CRL URLs point at the listener.

    The intermediate CA certificate is neither embedded nor in the policy, so path
    building would have to fetch it from the AIA URL.
    """
    pki = _LocalPki.create(listener.url, embed_intermediate=False)
    return sign_pdf(sample, pki.signer, SigningProfile(level="B-B")), _to_asn1(pki.root)


@pytest.mark.parametrize("revocation_mode", ["soft-fail", "hard-fail"])
def test_no_fetch_without_permission(document_with_urls, listener, revocation_mode):
    data, root = document_with_urls
    policy = ValidationPolicy(trust_roots=(root,), revocation_mode=revocation_mode)

    (signature,) = validate_pdf(data, policy).signatures

    assert listener.count == 0
    assert signature.indication == "INDETERMINATE"


def test_no_fetch_from_host_not_allowed(document_with_urls, listener):
    data, root = document_with_urls
    policy = ValidationPolicy(trust_roots=(root,), allow_fetching=True, allowed_hosts=("localhost",))

    validate_pdf(data, policy)

    assert listener.count == 0


def test_fetch_from_allowed_host(document_with_urls, listener):
    data, root = document_with_urls
    policy = ValidationPolicy(trust_roots=(root,), allow_fetching=True, allowed_hosts=("127.0.0.1",))

    (signature,) = validate_pdf(data, policy).signatures

    assert listener.count >= 1
    assert signature.indication == "INDETERMINATE"


def test_linearized_scan_validates_without_warning(officer_signer, dev_policy, caplog) -> None:
    """A scan converted to PDF is linearized; its first cross-reference section has no /Root."""
    import logging

    from signing.intake import prepare_upload
    from signing.sign import SigningProfile, sign_pdf

    scan = Path(__file__).resolve().parents[2] / "samples" / "evidence-enothi-statement-2021-09-28.jpg"
    pdf = prepare_upload(scan.read_bytes()).data
    signed = sign_pdf(pdf, officer_signer, SigningProfile(), policy=dev_policy)

    with caplog.at_level(logging.WARNING, logger="signing"):
        report = validate_pdf(signed, dev_policy)

    assert report.signatures[0].indication == "TOTAL_PASSED"
    assert not [record for record in caplog.records if "document security store" in record.getMessage()]
