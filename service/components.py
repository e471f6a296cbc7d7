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
    """A small LRU cache of validation reports keyed by content hash and policy.

    A stored revision never changes, so the same bytes under the same trust
    settings give the same report until revocation data changes. Entries expire
    with the process.

    NOTE: nothing removes an entry when revocation data changes, so a
    revocation published after the first read shows on ``/content`` only after
    eviction or a restart; ``/verification`` always validates afresh.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], ValidationReport] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, policy_fingerprint: str) -> ValidationReport | None:
        with self._lock:
            report = self._entries.get((sha256, policy_fingerprint))
            if report is not None:
                self._entries.move_to_end((sha256, policy_fingerprint))
            return report

    def put(self, sha256: str, policy_fingerprint: str, report: ValidationReport) -> None:
        with self._lock:
            self._entries[(sha256, policy_fingerprint)] = report
            self._entries.move_to_end((sha256, policy_fingerprint))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reports = ReportCache()

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
                           part_size=settings.s3_part_size)

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
