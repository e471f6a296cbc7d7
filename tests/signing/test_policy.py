"""Validation policy files and the algorithm rules they set."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from config import ConfigurationError, Settings, settings_from_env
from service.components import Components
from signing.devpki import DevPki, issue_certificate
from signing.errors import SignerCertificateRejected
from signing import policy as policy_module
from signing.policy import (InvalidPolicyFile, ValidationPolicy, load_policy, parse_policy, source_digest,
                            validation_code_digest)
from signing.sign import SigningProfile, sign_pdf
from signing.validation import validate_pdf

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLE_PDF = REPOSITORY / "samples" / "minutes-2021-09-20.pdf"
SHIPPED_POLICIES = REPOSITORY / "policies"


@pytest.fixture
def trust_dirs(tmp_path: Path, dev_pki: DevPki) -> Path:
    """A directory with trust/ and intermediates/ copied from the development PKI."""
    shutil.copytree(dev_pki.trust_dir, tmp_path / "trust")
    shutil.copytree(dev_pki.intermediates_dir, tmp_path / "intermediates")
    return tmp_path


def _write_policy(directory: Path, text: str) -> Path:
    path = directory / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


FULL_POLICY = """
name = "archive"

[trust]
anchors_dir = "trust"
intermediates_dir = "intermediates"

[algorithms]
digest = ["sha256", "sha512"]
signature = ["ecdsa", "rsassa_pss"]
min_rsa_bits = 3072
min_ec_bits = 384

[signer]
key_usage = ["non_repudiation", "digital_signature"]

[revocation]
mode = "soft-fail"

[time]
clock_tolerance_seconds = 30

[fetching]
enabled = true
allowed_hosts = ["OCSP.Example.test", "crl.example.test"]
"""


def test_load_policy_reads_every_setting(trust_dirs: Path, dev_pki: DevPki) -> None:
    policy = load_policy(_write_policy(trust_dirs, FULL_POLICY))

    assert policy.name == "archive"
    assert len(policy.trust_roots) == 1
    assert len(policy.intermediates) == 1
    assert policy.digest_algorithms == ("sha256", "sha512")
    assert policy.signature_algorithms == ("ecdsa", "rsassa_pss")
    assert policy.min_rsa_bits == 3072
    assert policy.min_ec_bits == 384
    assert policy.signer_key_usage == ("non_repudiation", "digital_signature")
    assert policy.revocation_mode == "soft-fail"
    assert policy.clock_tolerance_seconds == 30
    assert policy.allow_fetching is True
    assert policy.allowed_hosts == ("ocsp.example.test", "crl.example.test")


def test_load_policy_defaults(trust_dirs: Path) -> None:
    policy = load_policy(_write_policy(trust_dirs, '[trust]\nanchors_dir = "trust"\n'))

    assert policy.name == "policy"
    assert policy.intermediates == ()
    assert policy.revocation_mode == "hard-fail"
    assert policy.allow_fetching is False
    assert policy.allowed_hosts == ()
    assert "sha1" not in policy.digest_algorithms
    assert "md5" not in policy.digest_algorithms
    assert policy.min_rsa_bits == 2048
    assert policy.min_ec_bits == 256
    assert policy.signer_key_usage == ("non_repudiation",)


@pytest.mark.parametrize(
    ("text", "key", "detail"),
    [
        ('[trust]\nanchors_dir = "trust"\n[revocation]\nmode = "lenient"\n', "revocation.mode", "lenient"),
        ('[trust]\nanchors_dir = "trust"\n[revocation]\nmodus = "soft-fail"\n', "revocation.modus", "unknown key"),
        ('[trust]\nanchors_dir = "trust"\n[revocaton]\nmode = "soft-fail"\n', "revocaton", "unknown table"),
        ('[trust]\nanchors_dir = "trust"\n[algorithms]\nmin_rsa_bits = "2048"\n', "algorithms.min_rsa_bits", "integer"),
        ('[trust]\nanchors_dir = "trust"\n[algorithms]\nmin_ec_bits = true\n', "algorithms.min_ec_bits", "integer"),
        ('[trust]\nanchors_dir = "trust"\n[algorithms]\ndigest = ["sha256", "sha999"]\n', "algorithms.digest", "sha999"),
        ('[trust]\nanchors_dir = "trust"\n[algorithms]\nsignature = []\n', "algorithms.signature", "empty"),
        ('[trust]\nanchors_dir = "trust"\n[signer]\nkey_usage = ["non_repudation"]\n', "signer.key_usage", "non_repudation"),
        ('[trust]\nanchors_dir = "trust"\n[time]\nclock_tolerance_seconds = -5\n', "time.clock_tolerance_seconds", "non-negative"),
        ('[trust]\nanchors_dir = "trust"\n[fetching]\nenabled = true\n', "fetching.allowed_hosts", "allowed_hosts"),
        ('[trust]\nanchors_dir = "trust"\n[fetching]\nallowed_hosts = [1]\n', "fetching.allowed_hosts", "strings"),
        ('[trust]\nanchors_dir = "missing"\n', "trust.anchors_dir", "does not exist"),
        ('[trust]\nanchors_dir = "empty"\n', "trust.anchors_dir", "no certificate"),
        ('[trust]\nanchors_dir = "trust"\nintermediates_dir = "missing"\n', "trust.intermediates_dir", "does not exist"),
        ('[revocation]\nmode = "soft-fail"\n', "trust.anchors_dir", "required"),
        ('name = "x"\nname = "y"\n', None, "not valid TOML"),
    ],
    ids=[
        "bad-mode",
        "unknown-key",
        "unknown-table",
        "string-for-int",
        "bool-for-int",
        "unknown-digest",
        "empty-signature-list",
        "unknown-key-usage",
        "negative-tolerance",
        "fetching-without-hosts",
        "host-not-string",
        "missing-anchors",
        "empty-anchors",
        "missing-intermediates",
        "no-anchors-key",
        "invalid-toml",
    ],
)
def test_invalid_policy_names_key(trust_dirs: Path, text: str, key: str | None, detail: str) -> None:
    (trust_dirs / "empty").mkdir()
    path = _write_policy(trust_dirs, text)

    with pytest.raises(InvalidPolicyFile) as caught:
        load_policy(path)

    assert caught.value.key == key
    assert caught.value.path == str(path)
    assert detail in str(caught.value)
    if key is not None:
        assert key in str(caught.value)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidPolicyFile) as caught:
        load_policy(tmp_path / "absent.toml")

    assert caught.value.key is None
    assert "cannot be read" in str(caught.value)


def test_fingerprint_covers_new_settings(dev_policy: ValidationPolicy) -> None:
    changes = {
        "digest_algorithms": ("sha256", "sha1"),
        "signature_algorithms": ("ecdsa",),
        "min_rsa_bits": 3072,
        "min_ec_bits": 384,
        "signer_key_usage": ("digital_signature",),
        "clock_tolerance_seconds": 60,
    }
    base = dev_policy.fingerprint()

    for name, value in changes.items():
        changed = ValidationPolicy(
            trust_roots=dev_policy.trust_roots,
            intermediates=dev_policy.intermediates,
            revocation_mode=dev_policy.revocation_mode,
            name=dev_policy.name,
            **{name: value},
        )
        assert changed.fingerprint() != base, name


def test_fingerprint_covers_validation_code(dev_policy: ValidationPolicy, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    package = Path(policy_module.__file__).parent
    copy = tmp_path / "signing"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "fonts"))
    assert source_digest(copy) == validation_code_digest()
    trust = copy / "trust.py"
    trust.write_text(trust.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    changed_digest = source_digest(copy)
    assert changed_digest != validation_code_digest()

    before = dev_policy.fingerprint()
    monkeypatch.setattr(policy_module, "validation_code_digest", lambda: changed_digest)

    assert dev_policy.fingerprint() != before


def test_shipped_default_policy(tmp_path: Path, dev_pki: DevPki) -> None:
    text = (SHIPPED_POLICIES / "default.toml").read_text(encoding="utf-8")
    # The shipped file names production directories; the test points them at the development PKI.
    text = text.replace('"/etc/dolil/trust"', f'"{dev_pki.trust_dir}"')
    text = text.replace('"/etc/dolil/intermediates"', f'"{dev_pki.intermediates_dir}"')

    policy = parse_policy(text, base_dir=tmp_path, source="default.toml")

    assert policy.name == "default"
    assert policy.revocation_mode == "hard-fail"
    assert policy.allow_fetching is False
    assert "sha1" not in policy.digest_algorithms
    assert policy.min_rsa_bits == 2048
    assert len(policy.intermediates) == 1


def test_shipped_development_policy(tmp_path: Path, dev_pki: DevPki) -> None:
    # The development policy names ../var/pki/..., relative to the policies directory.
    root = tmp_path
    (root / "policies").mkdir()
    shutil.copy(SHIPPED_POLICIES / "development.toml", root / "policies" / "development.toml")
    (root / "var" / "pki").mkdir(parents=True)
    shutil.copytree(dev_pki.trust_dir, root / "var" / "pki" / "trust")
    shutil.copytree(dev_pki.intermediates_dir, root / "var" / "pki" / "intermediates")

    policy = load_policy(root / "policies" / "development.toml")

    assert policy.name == "development"
    assert policy.revocation_mode == "soft-fail"
    assert policy.allow_fetching is False
    assert len(policy.trust_roots) == 1


# --- algorithm rules in validation --------------------------------------------------------


def _sign_directly(signer: SimpleSigner, md_algorithm: str = "sha256") -> bytes:
    """Sign with pyHanko itself, because signing.sign refuses weak keys and digests."""
    writer = IncrementalPdfFileWriter(io.BytesIO(SAMPLE_PDF.read_bytes()), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm=md_algorithm
    )
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def _issued_signer(dev_pki: DevPki, name: str, key_size: int) -> SimpleSigner:
    issued = issue_certificate(dev_pki, name, key_size=key_size)
    key_der = issued.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    intermediate = issued.chain[0].public_bytes(serialization.Encoding.DER)
    return SimpleSigner(
        signing_cert=issued.asn1_certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(intermediate)]),
    )


def test_sha1_signature_crypto_constraints_failure(officer_signer, dev_policy: ValidationPolicy) -> None:
    signed = _sign_directly(officer_signer, md_algorithm="sha1")

    (signature,) = validate_pdf(signed, dev_policy).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"


def test_sha1_passes_when_policy_allows(officer_signer, dev_policy: ValidationPolicy) -> None:
    lenient = ValidationPolicy(
        trust_roots=dev_policy.trust_roots,
        intermediates=dev_policy.intermediates,
        revocation_mode="soft-fail",
        digest_algorithms=("sha1", "sha256"),
    )
    signed = _sign_directly(officer_signer, md_algorithm="sha1")

    (signature,) = validate_pdf(signed, lenient).signatures

    assert signature.indication == "TOTAL_PASSED"


def test_rsa_1024_signer_crypto_constraints_failure(dev_pki: DevPki, dev_policy: ValidationPolicy) -> None:
    signed = _sign_directly(_issued_signer(dev_pki, "Officer With Short Key", 1024))

    (signature,) = validate_pdf(signed, dev_policy).signatures

    assert signature.indication == "INDETERMINATE"
    assert signature.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"


def test_rsa_1024_signer_refused_before_signing(dev_pki: DevPki, dev_policy: ValidationPolicy) -> None:
    signer = _issued_signer(dev_pki, "Officer With Short Key", 1024)

    with pytest.raises(SignerCertificateRejected) as caught:
        sign_pdf(SAMPLE_PDF.read_bytes(), signer, SigningProfile(), policy=dev_policy)

    assert caught.value.reason == "weak_key"
    assert "1024" in caught.value.detail


def test_ec_key_below_policy_minimum(live_pki) -> None:
    signed = sign_pdf(SAMPLE_PDF.read_bytes(), live_pki.signer("valid"), SigningProfile(), policy=live_pki.policy())
    strict = live_pki.policy(min_ec_bits=384)

    (accepted,) = validate_pdf(signed, live_pki.policy()).signatures
    (rejected,) = validate_pdf(signed, strict).signatures

    assert accepted.indication == "TOTAL_PASSED"
    assert rejected.indication == "INDETERMINATE"
    assert rejected.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"


# --- service settings --------------------------------------------------------------------


def test_components_read_policy_file(trust_dirs: Path) -> None:
    path = _write_policy(trust_dirs, FULL_POLICY)
    settings = Settings(env="testing", embedded_s3=False, s3_endpoint="http://127.0.0.1:1",
                        s3_access_key="a", s3_secret_key="b", validation_policy=str(path)).validate()

    policy = Components(settings).policy

    assert policy.name == "archive"
    assert policy.revocation_mode == "soft-fail"
    assert policy.allowed_hosts == ("ocsp.example.test", "crl.example.test")


def test_components_report_invalid_policy_file(trust_dirs: Path) -> None:
    path = _write_policy(trust_dirs, '[trust]\nanchors_dir = "trust"\n[revocation]\nmode = "never"\n')
    settings = Settings(env="testing", embedded_s3=False, s3_endpoint="http://127.0.0.1:1",
                        s3_access_key="a", s3_secret_key="b", validation_policy=str(path)).validate()

    with pytest.raises(ConfigurationError) as caught:
        Components(settings).policy

    assert caught.value.name == "DOLIL_VALIDATION_POLICY"
    assert "revocation.mode" in str(caught.value)


def test_settings_reject_missing_policy_file(tmp_path: Path) -> None:
    environ = {
        "DOLIL_ENV": "testing",
        "DOLIL_EMBEDDED_S3": "0",
        "DOLIL_S3_ENDPOINT": "http://127.0.0.1:1",
        "DOLIL_S3_ACCESS_KEY": "a",
        "DOLIL_S3_SECRET_KEY": "b",
        "DOLIL_VALIDATION_POLICY": str(tmp_path / "absent.toml"),
    }

    with pytest.raises(ConfigurationError) as caught:
        settings_from_env(environ)

    assert caught.value.name == "DOLIL_VALIDATION_POLICY"
