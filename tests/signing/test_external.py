"""Two-phase signing: prepare on the service, sign the signed attributes elsewhere, complete."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign.timestamps import HTTPTimeStamper

from signing.devpki import issue_certificate
from signing.errors import SignerCertificateRejected, SigningError, SigningProfileError
from signing.external import (
    ExternalSignatureInvalid,
    ExternalSignatureState,
    ExternalStateInvalid,
    complete_external_signature,
    prepare_external_signature,
)
from signing.policy import ValidationPolicy
from signing.sign import SigningProfile
from signing.validation import validate_pdf
from tools.dolil_sign import TokenSettings, sign_prepared

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_PDF = REPOSITORY / "samples" / "minutes-2021-09-20.pdf"


@dataclass(frozen=True)
class Officer:
    private_key: object
    certificate: asn1_x509.Certificate
    chain: list[asn1_x509.Certificate]

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, PKCS1v15(), hashes.SHA256())


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE_PDF.read_bytes()


@pytest.fixture(scope="module")
def officer(dev_pki) -> Officer:
    """The development officer's key and certificates, read from the PKCS#12 file with cryptography."""
    private_key, certificate, ca_certificates = pkcs12.load_key_and_certificates(
        dev_pki.officer_p12_path.read_bytes(), dev_pki.read_officer_passphrase()
    )
    return Officer(private_key, _asn1(certificate), [_asn1(ca) for ca in ca_certificates])


@pytest.fixture(scope="module")
def prepared(sample, officer, dev_policy):
    return prepare_external_signature(
        sample, officer.certificate, officer.chain, SigningProfile(reason="Approved minutes"), policy=dev_policy
    )


def _state_document(state: bytes) -> dict:
    return json.loads(state)


def _encode_state(document: dict) -> bytes:
    return json.dumps(document).encode("utf-8")


def _assert_valid(signed: bytes, policy: ValidationPolicy, level: str = "B-B"):
    report = validate_pdf(signed, policy)
    assert report.indication == "TOTAL_PASSED", report.signatures
    signature = report.signatures[-1]
    assert signature.indication == "TOTAL_PASSED"
    assert signature.level == level
    assert signature.coverage == "ENTIRE_FILE"
    return signature


def test_prepare_returns_signed_attributes(prepared, sample):
    assert prepared.digest_algorithm == "sha256"
    assert prepared.signature_mechanism == "sha256_rsa"
    assert prepared.field_name == "Signature1"
    assert prepared.level == "B-B"
    assert prepared.input_sha256 == hashlib.sha256(sample).hexdigest()
    assert prepared.signed_attributes_digest == hashlib.sha256(prepared.signed_attributes_der).digest()

    state = ExternalSignatureState.from_bytes(prepared.state)
    assert state.prepared_pdf.startswith(sample)
    assert state.prepared_pdf_sha256 == prepared.prepared_pdf_sha256
    assert state.document_digest == prepared.document_digest
    assert state.profile.reason == "Approved minutes"
    assert state.profile.field_name == "Signature1"


def test_completed_signature_validates(prepared, officer, sample, dev_policy):
    signed = complete_external_signature(prepared.state, officer.sign(prepared.signed_attributes_der))

    assert signed.startswith(sample)
    signature = _assert_valid(signed, dev_policy)
    assert signature.field_name == "Signature1"
    assert signature.signer_serial == f"{officer.certificate.serial_number:x}"
    assert len(signature.chain) == 3


def test_softhsm_key_through_client(softhsm_token, sample, dev_pki, dev_policy):
    token_officer = softhsm_token.officer
    prepared = prepare_external_signature(
        sample, token_officer.asn1_certificate, [_asn1(token_officer.chain[0])], SigningProfile()
    )
    settings = TokenSettings(
        library_path=softhsm_token.library_path,
        token_label=softhsm_token.token_label,
        key_label=softhsm_token.key_label,
        chain_cert_labels=(softhsm_token.intermediate_label,),
    )

    signature_value, certificates = sign_prepared(prepared.signed_attributes_der, settings, softhsm_token.user_pin)
    signed = complete_external_signature(prepared.state, signature_value, presented_certificates=certificates)

    assert certificates[0] == token_officer.asn1_certificate.dump()
    assert signed.startswith(sample)
    signature = _assert_valid(signed, dev_policy)
    assert "Dolil Token Officer" in signature.signer_subject


def test_state_completed_in_another_process(prepared, officer, sample, dev_policy, tmp_path):
    # A JSON round trip through a dictionary, as a database JSON column would store it.
    state = _encode_state(_state_document(prepared.state))
    (tmp_path / "state.json").write_bytes(state)
    (tmp_path / "signature.bin").write_bytes(officer.sign(prepared.signed_attributes_der))
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from signing.external import complete_external_signature\n"
        "directory = Path(sys.argv[1])\n"
        "signed = complete_external_signature(\n"
        "    (directory / 'state.json').read_bytes(), (directory / 'signature.bin').read_bytes()\n"
        ")\n"
        "(directory / 'signed.pdf').write_bytes(signed)\n"
    )

    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=REPOSITORY, check=True, capture_output=True, timeout=60
    )

    signed = (tmp_path / "signed.pdf").read_bytes()
    assert signed.startswith(sample)
    _assert_valid(signed, dev_policy)


def test_state_dictionary_round_trip(prepared):
    state = ExternalSignatureState.from_bytes(prepared.state)

    # asn1crypto objects compare by identity, so the serialised forms are compared.
    assert ExternalSignatureState.from_dict(state.to_dict()).to_bytes() == prepared.state
    assert state.to_bytes() == prepared.state


def test_signature_from_other_key_rejected(prepared, dev_pki, officer, dev_policy):
    other = issue_certificate(dev_pki, "Dolil Other Officer")
    wrong_value = other.private_key.sign(prepared.signed_attributes_der, PKCS1v15(), hashes.SHA256())

    with pytest.raises(ExternalSignatureInvalid) as caught:
        complete_external_signature(prepared.state, wrong_value)

    assert caught.value.reason == "signature_mismatch"
    assert caught.value.serial_number == officer.certificate.serial_number
    # The rejected value consumed nothing: the right value still completes the same state.
    signed = complete_external_signature(prepared.state, officer.sign(prepared.signed_attributes_der))
    _assert_valid(signed, dev_policy)


@pytest.mark.parametrize("position", [0, 100, -1])
def test_flipped_signature_byte_rejected(prepared, officer, position):
    value = bytearray(officer.sign(prepared.signed_attributes_der))
    value[position] ^= 0x01

    with pytest.raises(ExternalSignatureInvalid) as caught:
        complete_external_signature(prepared.state, bytes(value))

    assert caught.value.reason == "signature_mismatch"


def test_signature_of_other_data_rejected(prepared, officer):
    with pytest.raises(ExternalSignatureInvalid):
        complete_external_signature(prepared.state, officer.sign(prepared.document_digest))


def test_other_presented_certificate_rejected(prepared, officer, dev_pki):
    other = issue_certificate(dev_pki, "Dolil Other Officer")

    with pytest.raises(ExternalSignatureInvalid) as caught:
        complete_external_signature(
            prepared.state,
            officer.sign(prepared.signed_attributes_der),
            presented_certificates=[other.asn1_certificate.dump()],
        )

    assert caught.value.reason == "certificate_mismatch"


def _flip_pdf_byte(document: dict, position: int, *, update_digest: bool) -> None:
    pdf = bytearray(base64.b64decode(document["prepared_pdf"]["data"]))
    pdf[position] ^= 0x01
    document["prepared_pdf"]["data"] = base64.b64encode(bytes(pdf)).decode("ascii")
    if update_digest:
        document["prepared_pdf"]["sha256"] = hashlib.sha256(pdf).hexdigest()


def test_altered_prepared_pdf_rejected(prepared, officer):
    document = _state_document(prepared.state)
    # A byte in the incremental update, after the original document.
    _flip_pdf_byte(document, document["input"]["length"] + 10, update_digest=False)

    with pytest.raises(ExternalStateInvalid) as caught:
        complete_external_signature(_encode_state(document), officer.sign(prepared.signed_attributes_der))

    assert caught.value.reason == "altered"
    assert "SHA-256" in caught.value.detail


@pytest.mark.parametrize(
    "position, detail",
    [
        ("input", "does not start with the recorded input"),
        ("update", "byte range digest"),
        ("placeholder", "placeholder"),
    ],
)
def test_altered_pdf_with_recomputed_sha256_rejected(prepared, officer, position, detail):
    document = _state_document(prepared.state)
    offsets = {
        "input": 10,
        "update": document["input"]["length"] + 10,
        "placeholder": document["byte_range"][1] + 5,
    }
    _flip_pdf_byte(document, offsets[position], update_digest=True)

    with pytest.raises(ExternalStateInvalid) as caught:
        complete_external_signature(_encode_state(document), officer.sign(prepared.signed_attributes_der))

    assert caught.value.reason == "altered"
    assert detail in caught.value.detail


def test_altered_state_fields_rejected(prepared, officer, dev_pki):
    other = issue_certificate(dev_pki, "Dolil Other Officer")
    changes = {
        "byte_range": lambda document: document["byte_range"].__setitem__(1, document["byte_range"][1] + 2),
        "document_digest": lambda document: document.__setitem__("document_digest", "00" * 32),
        "signer_certificate": lambda document: document.__setitem__(
            "signer_certificate", base64.b64encode(other.asn1_certificate.dump()).decode("ascii")
        ),
        "signature_mechanism": lambda document: document.__setitem__("signature_mechanism", "sha256_ecdsa"),
    }
    signature_value = officer.sign(prepared.signed_attributes_der)

    for name, change in changes.items():
        document = _state_document(prepared.state)
        change(document)
        with pytest.raises(ExternalStateInvalid) as caught:
            complete_external_signature(_encode_state(document), signature_value)
        assert caught.value.reason == "altered", name


@pytest.mark.parametrize(
    "state",
    [
        b"not json",
        b"[]",
        b'{"format": "dolil.external-signature-state", "version": 2}',
        b'{"format": "dolil.external-signature-state", "version": 1}',
    ],
)
def test_malformed_state_rejected(state):
    with pytest.raises(ExternalStateInvalid) as caught:
        complete_external_signature(state, b"\x00" * 256)

    assert caught.value.reason == "malformed"


def test_state_for_other_input_rejected(prepared, officer):
    with pytest.raises(ExternalStateInvalid) as caught:
        complete_external_signature(
            prepared.state,
            officer.sign(prepared.signed_attributes_der),
            expected_input_sha256=hashlib.sha256(b"another revision").hexdigest(),
        )

    assert caught.value.reason == "input_mismatch"


def test_matching_input_sha256_accepted(prepared, officer, sample):
    signed = complete_external_signature(
        prepared.state,
        officer.sign(prepared.signed_attributes_der),
        expected_input_sha256=hashlib.sha256(sample).hexdigest().upper(),
    )

    assert signed.startswith(sample)


def test_b_t_adds_signature_timestamp(sample, officer, dev_policy, tsa_url):
    timestamper = HTTPTimeStamper(tsa_url, timeout=5)
    prepared = prepare_external_signature(
        sample, officer.certificate, officer.chain, SigningProfile(level="B-T"), timestamper=timestamper
    )
    signed = complete_external_signature(
        prepared.state, officer.sign(prepared.signed_attributes_der), timestamper=timestamper
    )

    assert prepared.level == "B-T"
    assert signed.startswith(sample)
    signature = _assert_valid(signed, dev_policy, level="B-T")
    assert signature.timestamp_time is not None


def test_b_t_state_needs_timestamper(sample, officer, tsa_url):
    prepared = prepare_external_signature(
        sample, officer.certificate, officer.chain, SigningProfile(), timestamper=HTTPTimeStamper(tsa_url, timeout=5)
    )

    with pytest.raises(SigningProfileError):
        complete_external_signature(prepared.state, officer.sign(prepared.signed_attributes_der))


def test_timestamper_without_reserved_space_rejected(prepared, officer, tsa_url):
    with pytest.raises(SigningProfileError):
        complete_external_signature(
            prepared.state,
            officer.sign(prepared.signed_attributes_der),
            timestamper=HTTPTimeStamper(tsa_url, timeout=5),
        )


def test_b_t_profile_without_timestamper_rejected(sample, officer):
    with pytest.raises(SigningProfileError):
        prepare_external_signature(sample, officer.certificate, officer.chain, SigningProfile(level="B-T"))


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_need_timestamper_and_policy(sample, officer, tsa_url, level):
    with pytest.raises(SigningProfileError) as without_timestamper:
        prepare_external_signature(sample, officer.certificate, officer.chain, SigningProfile(level=level))
    with pytest.raises(SigningProfileError) as without_policy:
        prepare_external_signature(sample, officer.certificate, officer.chain, SigningProfile(level=level),
                                   timestamper=HTTPTimeStamper(tsa_url, timeout=5))

    assert without_timestamper.value.value == level
    assert "timestamper" in without_timestamper.value.detail
    assert without_policy.value.value == level
    assert "policy" in without_policy.value.detail


def _live_two_phase(sample, live_pki, level: str, label: str = "valid") -> bytes:
    """Prepare, sign with the test PKI signer's EC key outside pyHanko, and complete at ``level``."""
    signer = live_pki.signer(label)
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    prepared = prepare_external_signature(sample, signer.signing_cert, list(signer.cert_registry),
                                          SigningProfile(level=level), timestamper=live_pki.timestamper(),
                                          policy=live_pki.policy())
    signature_value = key.sign(prepared.signed_attributes_der, ec.ECDSA(hashes.SHA256()))
    return complete_external_signature(prepared.state, signature_value, timestamper=live_pki.timestamper(),
                                       policy=live_pki.policy())


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_completed(sample, live_pki, level):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    signed = _live_two_phase(sample, live_pki, level)

    offline = live_pki.policy(allow_fetching=False, allowed_hosts=())
    (signature,) = validate_pdf(signed, offline).signatures
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(signed)))
    assert signed.startswith(sample)
    assert signature.level == level
    assert signature.indication == "TOTAL_PASSED"
    assert signature.revocation["status"] == "good"
    assert ("embedded", "OCSP", "good") in [
        (item["source"], item["type"], item["status"]) for item in signature.revocation["evidence"]
    ]
    assert len(dss.ocsps) >= 1
    assert len(dss.crls) >= 1
    expected_timestamps = ["signature", "document"] if level == "B-LTA" else ["signature"]
    assert [entry["type"] for entry in signature.timestamps] == expected_timestamps


def test_long_term_completion_checks_revocation(sample, live_pki):
    signer = live_pki.signer("revoked-after")
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    moment = live_pki.base_time - timedelta(days=2)
    with live_pki.services_at(moment):
        prepared = prepare_external_signature(sample, signer.signing_cert, list(signer.cert_registry),
                                              SigningProfile(level="B-LTA"), timestamper=live_pki.timestamper(),
                                              policy=live_pki.policy(), at=moment)
    signature_value = key.sign(prepared.signed_attributes_der, ec.ECDSA(hashes.SHA256()))

    with pytest.raises(SignerCertificateRejected) as caught:
        complete_external_signature(prepared.state, signature_value, timestamper=live_pki.timestamper(),
                                    policy=live_pki.policy())

    assert caught.value.reason == "revoked"


def test_completion_checks_revocation_at_b_b(sample, live_pki):
    """Every level checks revocation again at completion, not only B-LT and B-LTA, which collect the data."""
    signer = live_pki.signer("revoked-after")
    key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    moment = live_pki.base_time - timedelta(days=2)
    with live_pki.services_at(moment):
        prepared = prepare_external_signature(sample, signer.signing_cert, list(signer.cert_registry),
                                              SigningProfile(), policy=live_pki.policy(), at=moment)
    signature_value = key.sign(prepared.signed_attributes_der, ec.ECDSA(hashes.SHA256()))

    with pytest.raises(SignerCertificateRejected) as caught:
        complete_external_signature(prepared.state, signature_value, policy=live_pki.policy())

    assert caught.value.reason == "revoked"


def _stamped_preparation(sample, officer, dev_policy):
    from signing.stamp import StampPlacement, VisibleStamp, stamp_lines

    lines = stamp_lines("আবুল কালাম আজাদ", "নিয়ন্ত্রক", "সিসিএ কার্যালয়", "১১ আশ্বিন ১৪২৮ / ২৬ সেপ্টেম্বর ২০২১")
    profile = SigningProfile(stamp=VisibleStamp(lines, StampPlacement()))
    return prepare_external_signature(sample, officer.certificate, officer.chain, profile, policy=dev_policy)


def _appearance_stream(pdf: bytes, field_name: str) -> bytes:
    """Return the encoded bytes of a signature field's normal appearance stream."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    for entry in reader.root["/AcroForm"]["/Fields"]:
        field = entry.get_object()
        if str(field["/T"]) == field_name:
            widget = field if "/AP" in field else field["/Kids"][0].get_object()
            return widget["/AP"]["/N"].get_object().encoded_data
    raise AssertionError(f"no field {field_name}")


def test_stamp_prepared_and_completed(sample, officer, dev_policy):
    prepared = _stamped_preparation(sample, officer, dev_policy)
    pdf = base64.b64decode(_state_document(prepared.state)["prepared_pdf"]["data"])

    signed = complete_external_signature(prepared.state, officer.sign(prepared.signed_attributes_der),
                                         policy=dev_policy)

    appearance = _appearance_stream(pdf, prepared.field_name)
    assert len(appearance) > 100
    assert _appearance_stream(signed, prepared.field_name) == appearance
    _assert_valid(signed, dev_policy)


def test_altered_stamp_rejected(sample, officer, dev_policy):
    """The document digest covers the stamp's appearance, so a state with another stamp cannot be completed."""
    prepared = _stamped_preparation(sample, officer, dev_policy)
    document = _state_document(prepared.state)
    pdf = base64.b64decode(document["prepared_pdf"]["data"])
    appearance = _appearance_stream(pdf, prepared.field_name)
    offset = pdf.index(appearance, document["input"]["length"])
    _flip_pdf_byte(document, offset + len(appearance) // 2, update_digest=True)

    with pytest.raises(ExternalStateInvalid) as caught:
        complete_external_signature(_encode_state(document), officer.sign(prepared.signed_attributes_der))

    assert caught.value.reason == "altered"
    assert "byte range digest" in caught.value.detail


def test_certificate_without_non_repudiation_rejected(sample, dev_pki):
    issued = issue_certificate(dev_pki, "Dolil Clerk", key_usage=("digital_signature",))

    with pytest.raises(SignerCertificateRejected) as caught:
        prepare_external_signature(sample, issued.asn1_certificate, [_asn1(issued.chain[0])], SigningProfile())

    assert caught.value.reason == "key_usage"


def test_untrusted_certificate_rejected_with_policy(sample, officer):
    empty_policy = ValidationPolicy(trust_roots=(), revocation_mode="soft-fail", name="test-trusts-nothing")

    with pytest.raises(SignerCertificateRejected) as caught:
        prepare_external_signature(sample, officer.certificate, officer.chain, SigningProfile(), policy=empty_policy)

    assert caught.value.reason == "untrusted"


def test_certificate_expired_before_completion_rejected(prepared, officer):
    not_after = officer.certificate["tbs_certificate"]["validity"]["not_after"].native

    with pytest.raises(SignerCertificateRejected) as caught:
        complete_external_signature(
            prepared.state, officer.sign(prepared.signed_attributes_der), at=not_after + timedelta(days=1)
        )

    assert caught.value.reason == "expired"


def test_second_signature_keeps_first_valid(prepared, officer, sample, dev_policy):
    once = complete_external_signature(prepared.state, officer.sign(prepared.signed_attributes_der))
    second = prepare_external_signature(once, officer.certificate, officer.chain, SigningProfile())
    twice = complete_external_signature(second.state, officer.sign(second.signed_attributes_der))

    assert second.field_name == "Signature2"
    assert twice.startswith(once)
    report = validate_pdf(twice, dev_policy)
    assert [signature.indication for signature in report.signatures] == ["TOTAL_PASSED", "TOTAL_PASSED"]


def _issue_ec_certificate(dev_pki) -> tuple[ec.EllipticCurvePrivateKey, asn1_x509.Certificate, asn1_x509.Certificate]:
    """Issue a P-256 officer certificate from the development intermediate CA."""
    intermediate = x509.load_pem_x509_certificate(dev_pki.intermediate_cert_path.read_bytes())
    # ensure_dev_pki keeps the intermediate CA's key next to the officer's PKCS#12 file.
    intermediate_key = serialization.load_pem_private_key(
        (dev_pki.directory / "private" / "intermediate-ca.key.pem").read_bytes(), password=None
    )
    private_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dolil EC Officer")]))
        .issuer_name(intermediate.subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(intermediate_key.public_key()), critical=False
        )
        .sign(intermediate_key, hashes.SHA256())
    )
    return private_key, _asn1(certificate), _asn1(intermediate)


def test_ec_key_signature_validates(sample, dev_pki, dev_policy):
    private_key, certificate, intermediate = _issue_ec_certificate(dev_pki)

    prepared = prepare_external_signature(sample, certificate, [intermediate], SigningProfile())
    signature_value = private_key.sign(prepared.signed_attributes_der, ec.ECDSA(hashes.SHA256()))
    signed = complete_external_signature(prepared.state, signature_value)

    assert prepared.signature_mechanism == "sha256_ecdsa"
    signature = _assert_valid(signed, dev_policy)
    assert "Dolil EC Officer" in signature.signer_subject


def test_errors_are_signing_errors():
    for error in (ExternalSignatureInvalid, ExternalStateInvalid):
        assert issubclass(error, SigningError)
