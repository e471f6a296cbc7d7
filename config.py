"""Dolil settings, read once from the environment.

Every setting has a ``DOLIL_`` environment variable, a type and a default. The
defaults describe the embedded development setup: SQLite, SeaweedFS and a
development PKI, all under ``var/``. Production (``DOLIL_ENV=production``)
refuses to start while a secret or an endpoint is missing instead of falling
back to a development value.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent

ENVIRONMENTS = ("development", "testing", "production")
RETENTION_MODES = ("COMPLIANCE", "GOVERNANCE")
REVOCATION_MODES = ("hard-fail", "soft-fail")
PADES_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
# S3's limits on the size of one part of a multipart upload.
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
OPTIONAL_INT_FIELDS = frozenset({"retention_days_minutes", "retention_days_evidence"})
OPTIONAL_BOOL_FIELDS = frozenset({"session_cookie_secure"})


class ConfigurationError(Exception):
    """A setting is missing or has an invalid value."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class Settings:
    """Typed settings of one Dolil process."""

    env: str = "development"
    secret_key: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str | None = None
    # Seconds to wait for a PostgreSQL connection (libpq's connect_timeout,
    # at least 2), so an unreachable server gets a 503 instead of a hung worker.
    database_connect_timeout: int = 5

    # Object storage. With ``embedded_s3`` the service starts SeaweedFS itself
    # on 127.0.0.1 and generates its credentials under ``data_dir``.
    embedded_s3: bool = True
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket: str = "dolil-archive"
    s3_object_lock: bool = True
    retention_mode: str = "COMPLIANCE"
    retention_days: int = 3650
    # Periods per document kind; unset kinds use retention_days.
    retention_days_minutes: int | None = None
    retention_days_evidence: int | None = None
    # Server-side encryption of stored objects with keys the store manages
    # (SSE-S3, x-amz-server-side-encryption: AES256).
    s3_sse: bool = True

    # The audit log's head is written to the object store every this many
    # events (0: only by 'flask audit checkpoint'), under this key prefix.
    audit_checkpoint_every: int = 1000
    audit_checkpoint_prefix: str = "audit/checkpoints/"

    # Source-Organization of exported BagIt packages.
    organization: str = "Office of the Controller of Certifying Authorities (CCA), Bangladesh"

    # Uploads and downloads pass through spool files under data_dir/spool, so
    # the limit bounds disk use per request, not memory.
    max_upload_bytes: int = 50 * 1024 * 1024
    # Objects larger than this go to the store as a multipart upload in parts
    # of this size, with one part in memory at a time. S3 needs at least 5 MiB.
    s3_part_size: int = 16 * 1024 * 1024

    # Signing and validation.
    dev_pki: bool = True
    trust_anchors_dir: Path | None = None
    intermediates_dir: Path | None = None
    revocation_mode: str = "hard-fail"
    validation_policy_name: str = "default"
    # Path of a TOML validation policy (see policies/default.toml). When set, it
    # replaces trust_anchors_dir, intermediates_dir, revocation_mode and
    # validation_policy_name for validation and for the signer check.
    validation_policy: str | None = None
    tsa_url: str | None = None
    # Archival time-stamp renewal ('flask ltv renew'): a revision is renewed when
    # the TSA certificate of its newest time-stamp expires within this many days.
    ltv_renewal_margin_days: int = 90
    # The user recorded as creator of renewed revisions and actor in the audit log.
    ltv_renewal_user: str = "ltv-renewal"
    # Maximum time that /content serves a cached validation report before the
    # signatures are validated again. Fetched revocation data with an earlier
    # nextUpdate expires it sooner, and 0 disables the cache.
    report_cache_max_age_seconds: int = 3600

    # Web pages: a session ends after this many minutes without a request, and
    # after session_max_hours in any case. The session cookie is sent only
    # over HTTPS when session_cookie_secure is true; unset, it is true in
    # production, where a reverse proxy terminates TLS.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    session_cookie_secure: bool | None = None

    log_format: str = "text"
    log_level: str = "INFO"
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'dolil.sqlite3'}"

    def retention_days_for(self, kind: str) -> int:
        """Return the object-lock retention period, in days, for documents of ``kind``."""
        specific = {"minutes": self.retention_days_minutes, "evidence": self.retention_days_evidence}.get(kind)
        return specific or self.retention_days

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies get the Secure attribute, so browsers send them over HTTPS only."""
        return self.is_production if self.session_cookie_secure is None else self.session_cookie_secure

    def validate(self) -> Settings:
        """Check values and cross-field rules; return self for chaining."""
        _check_choice("DOLIL_ENV", self.env, ENVIRONMENTS)
        _check_choice("DOLIL_RETENTION_MODE", self.retention_mode, RETENTION_MODES)
        _check_choice("DOLIL_REVOCATION_MODE", self.revocation_mode, REVOCATION_MODES)
        if self.report_cache_max_age_seconds < 0:
            raise ConfigurationError("DOLIL_REPORT_CACHE_MAX_AGE_SECONDS", "must be 0 or a positive number of seconds")
        if self.database_connect_timeout < 2:
            raise ConfigurationError("DOLIL_DATABASE_CONNECT_TIMEOUT", "must be at least 2 seconds")
        if self.max_upload_bytes <= 0:
            raise ConfigurationError("DOLIL_MAX_UPLOAD_BYTES", "must be a positive number of bytes")
        if not MIN_PART_SIZE <= self.s3_part_size <= MAX_PART_SIZE:
            raise ConfigurationError("DOLIL_S3_PART_SIZE", f"must be from {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes")
        for name in ("retention_days", "retention_days_minutes", "retention_days_evidence"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigurationError("DOLIL_" + name.upper(), "must be a positive number of days")
        if self.ltv_renewal_margin_days < 0:
            raise ConfigurationError("DOLIL_LTV_RENEWAL_MARGIN_DAYS", "must be a number of days, 0 or more")
        if self.session_idle_minutes < 1:
            raise ConfigurationError("DOLIL_SESSION_IDLE_MINUTES", "must be at least 1 minute")
        if self.session_max_hours < 1:
            raise ConfigurationError("DOLIL_SESSION_MAX_HOURS", "must be at least 1 hour")
        if self.audit_checkpoint_every < 0:
            raise ConfigurationError("DOLIL_AUDIT_CHECKPOINT_EVERY", "must be 0 (off) or a positive number of events")
        if not self.audit_checkpoint_prefix.endswith("/") or self.audit_checkpoint_prefix.startswith(("/", "documents/")):
            raise ConfigurationError("DOLIL_AUDIT_CHECKPOINT_PREFIX",
                                     "must end with '/' and lie outside 'documents/', e.g. 'audit/checkpoints/'")
        if self.validation_policy is not None and not Path(self.validation_policy).is_file():
            raise ConfigurationError(
                "DOLIL_VALIDATION_POLICY", f"{self.validation_policy!r} is not a readable policy file"
            )

        if self.is_production:
            required = {
                "DOLIL_SECRET_KEY": self.secret_key,
                "DOLIL_DATABASE_URL": self.database_url,
                "DOLIL_S3_ENDPOINT": self.s3_endpoint,
                "DOLIL_S3_ACCESS_KEY": self.s3_access_key,
                "DOLIL_S3_SECRET_KEY": self.s3_secret_key,
                "DOLIL_TRUST_ANCHORS_DIR": self.trust_anchors_dir,
            }
            for name, value in required.items():
                if not value:
                    raise ConfigurationError(name, "is required in production")
            if self.embedded_s3 or self.dev_pki:
                raise ConfigurationError(
                    "DOLIL_EMBEDDED_S3/DOLIL_DEV_PKI", "the embedded store and the development PKI are for development only"
                )
        elif not self.embedded_s3 and not (self.s3_endpoint and self.s3_access_key and self.s3_secret_key):
            raise ConfigurationError(
                "DOLIL_S3_ENDPOINT", "set DOLIL_S3_ENDPOINT, DOLIL_S3_ACCESS_KEY and DOLIL_S3_SECRET_KEY, or DOLIL_EMBEDDED_S3=1"
            )
        return self

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigurationError(name, f"{value!r} is not one of {', '.join(choices)}")


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(name, f"{raw!r} is not a boolean (use 1 or 0)")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(name, f"{raw!r} is not an integer") from None


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``DOLIL_*`` variables; ``overrides`` win over the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for settings_field in dataclasses.fields(Settings):
        if settings_field.name == "extra":
            continue
        name = "DOLIL_" + settings_field.name.upper()
        if name not in environ:
            continue
        raw = environ[name]
        default = settings_field.default
        if settings_field.name in OPTIONAL_INT_FIELDS:
            values[settings_field.name] = _parse_int(name, raw) if raw else None
        elif settings_field.name in OPTIONAL_BOOL_FIELDS:
            values[settings_field.name] = _parse_bool(name, raw) if raw.strip() else None
        elif isinstance(default, bool):
            values[settings_field.name] = _parse_bool(name, raw)
        elif isinstance(default, int):
            values[settings_field.name] = _parse_int(name, raw)
        elif isinstance(default, Path) or settings_field.name.endswith("_dir"):
            values[settings_field.name] = Path(raw) if raw else None
        else:
            values[settings_field.name] = raw or None if default is None else raw
    values.update(overrides)
    settings = Settings(**values)
    if settings.data_dir is None:
        raise ConfigurationError("DOLIL_DATA_DIR", "must not be empty")
    return settings.validate()
