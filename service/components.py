"""The archive's collaborators built from settings: object store, validation
policy, timestamper and a cache of validation reports.

Nothing here connects when the application is created; each component is built
on first use, so ``flask`` CLI commands and ``/healthz`` work without the store.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path

from flask import current_app

from config import ConfigurationError, Settings
from signing.policy import InvalidPolicyFile, load_policy
from signing.validation import ValidationPolicy, ValidationReport, load_certificates
from storage import ObjectStore, RetentionPolicy, StorageUnavailable, make_client

log = logging.getLogger(__name__)

# Files under DATA_DIR/seaweedfs that the development runner writes: the
# generated S3 credentials (kept across restarts) and, while SeaweedFS runs,
# its endpoint.
EMBEDDED_CREDENTIALS_FILE = "credentials.json"
EMBEDDED_ENDPOINT_FILE = "endpoint.json"


class ReportCache:
    """A small LRU cache of validation reports keyed by content hash and policy fingerprint.

    A stored revision never changes, so the same bytes under the same policy
    give the same report until revocation data changes. An entry therefore
    expires at the earliest of ``max_age`` after it was stored and the
    nextUpdate of any CRL or OCSP response that validation fetched for it.
    Revocation data embedded in the document is part of the hashed bytes and
    does not limit the age. A report under another policy fingerprint (other
    trust anchors, settings or validator versions) clears the whole cache.
    A ``max_age`` of zero disables caching.

    ``clock`` returns the current time as an aware datetime; tests replace it.
    """

    def __init__(
        self,
        capacity: int = 256,
        max_age: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.capacity = capacity
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[str, tuple[ValidationReport, datetime]] = OrderedDict()
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    def _switch_policy(self, policy_fingerprint: str) -> None:
        if policy_fingerprint != self._fingerprint:
            if self._entries:
                log.info("validation policy changed: dropping %d cached reports", len(self._entries))
            self._entries.clear()
            self._fingerprint = policy_fingerprint

    def get(self, sha256: str, policy_fingerprint: str) -> ValidationReport | None:
        with self._lock:
            self._switch_policy(policy_fingerprint)
            entry = self._entries.get(sha256)
            if entry is None:
                return None
            report, expires_at = entry
            if self.clock() >= expires_at:
                del self._entries[sha256]
                return None
            self._entries.move_to_end(sha256)
            return report

    def put(self, sha256: str, policy_fingerprint: str, report: ValidationReport) -> None:
        expires_at = self.clock() + self.max_age
        next_update = earliest_fetched_next_update(report)
        if next_update is not None:
            expires_at = min(expires_at, next_update)
        with self._lock:
            self._switch_policy(policy_fingerprint)
            if expires_at <= self.clock():
                self._entries.pop(sha256, None)
                return
            self._entries[sha256] = (report, expires_at)
            self._entries.move_to_end(sha256)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def expires_at(self, sha256: str) -> datetime | None:
        """Return when the entry for ``sha256`` expires, or None when there is none."""
        with self._lock:
            entry = self._entries.get(sha256)
            return entry[1] if entry is not None else None


def earliest_fetched_next_update(report: ValidationReport) -> datetime | None:
    """Return the earliest nextUpdate of the CRLs and OCSP responses fetched for a report."""
    moments = []
    for signature in report.signatures:
        items = list(signature.revocation.get("evidence") or [])
        for certificate in signature.certificates:
            items.extend(certificate.get("evidence") or [])
        moments.extend(
            item["next_update"] for item in items
            if item.get("source") == "fetched" and isinstance(item.get("next_update"), datetime)
        )
    return min(moments, default=None)


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reports = ReportCache(max_age=timedelta(seconds=settings.report_cache_max_age_seconds))

    def _s3_connection(self) -> tuple[str, str, str]:
        """Return endpoint, access key and secret key of the configured store.

        On the embedded setup without explicit settings, they are read from the
        files that the development runner writes while SeaweedFS runs, so
        ``flask`` commands reach the same store as the running service.
        """
        settings = self.settings
        if settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key:
            return settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key
        if settings.embedded_s3:
            state_dir = settings.data_dir / "seaweedfs"
            try:
                endpoint = json.loads((state_dir / EMBEDDED_ENDPOINT_FILE).read_text())["endpoint"]
                credentials = json.loads((state_dir / EMBEDDED_CREDENTIALS_FILE).read_text())
            except (OSError, ValueError, KeyError):
                raise StorageUnavailable(
                    "the embedded SeaweedFS is not running: start the service with ./run.sh first"
                ) from None
            return endpoint, credentials["access_key"], credentials["secret_key"]
        raise StorageUnavailable("no object store configured: set DOLIL_S3_ENDPOINT and its credentials")

    @cached_property
    def store(self) -> ObjectStore:
        settings = self.settings
        endpoint, access_key, secret_key = self._s3_connection()
        client = make_client(endpoint, access_key, secret_key, secure=settings.s3_secure, region=settings.s3_region)
        retention = RetentionPolicy(settings.retention_mode, settings.retention_days) if settings.s3_object_lock else None
        return ObjectStore(client, settings.s3_bucket, object_lock=settings.s3_object_lock, retention=retention,
                           sse=settings.s3_sse, part_size=settings.s3_part_size)

    @property
    def trust_anchors_dir(self) -> Path:
        if self.settings.trust_anchors_dir is not None:
            return self.settings.trust_anchors_dir
        return self.settings.data_dir / "pki" / "trust"

    @property
    def intermediates_dir(self) -> Path | None:
        if self.settings.intermediates_dir is not None:
            return self.settings.intermediates_dir
        if self.settings.dev_pki:
            return self.settings.data_dir / "pki" / "intermediates"
        return None

    @cached_property
    def policy(self) -> ValidationPolicy:
        """The validation policy, also used to check a signer's certificate before signing.

        Read from the DOLIL_VALIDATION_POLICY file when it is set, otherwise built
        from the trust directory and revocation settings, without fetching.
        """
        if self.settings.validation_policy:
            try:
                policy = load_policy(Path(self.settings.validation_policy))
            except InvalidPolicyFile as error:
                raise ConfigurationError("DOLIL_VALIDATION_POLICY", str(error)) from error
            log.info("validation policy %s loaded from %s", policy.name, self.settings.validation_policy)
            return policy

        anchors = load_certificates(self.trust_anchors_dir) if self.trust_anchors_dir.is_dir() else ()
        if not anchors:
            log.warning("no trust anchors found in %s: every signature will be reported untrusted", self.trust_anchors_dir)
        intermediates_dir = self.intermediates_dir
        intermediates = load_certificates(intermediates_dir) if intermediates_dir and intermediates_dir.is_dir() else ()
        return ValidationPolicy(
            trust_roots=tuple(anchors),
            intermediates=tuple(intermediates),
            revocation_mode=self.settings.revocation_mode,
            allow_fetching=False,
            name=self.settings.validation_policy_name,
        )

    @cached_property
    def policy_fingerprint(self) -> str:
        """The policy's fingerprint, computed once: it reads package versions, which is slow per request."""
        return self.policy.fingerprint()

    @cached_property
    def timestamper(self):  # -> pyhanko.sign.timestamps.HTTPTimeStamper | None
        if not self.settings.tsa_url:
            return None
        from pyhanko.sign.timestamps import HTTPTimeStamper

        return HTTPTimeStamper(self.settings.tsa_url, timeout=10)


def components() -> Components:
    return current_app.extensions["dolil"]
