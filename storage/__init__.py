"""Object storage for archived documents, over the minio SDK.

This package imports no Flask and keeps no global client: callers pass a minio client
and settings as arguments. minio and urllib3 errors are raised as StorageError
subclasses. ``storage.seaweedfs`` runs an embedded SeaweedFS for tests and development.
"""

from .errors import ChecksumMismatch, ObjectNotFound, StorageError, StorageUnavailable
from .store import (
    ObjectStore,
    RetentionPolicy,
    StoredObject,
    VersionInfo,
    make_client,
    new_object_key,
)

__all__ = [
    "ChecksumMismatch",
    "ObjectNotFound",
    "ObjectStore",
    "RetentionPolicy",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "VersionInfo",
    "make_client",
    "new_object_key",
]
