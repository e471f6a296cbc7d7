"""Intake, signing and validation of PDF documents (PAdES, with pyHanko).

This package imports no Flask and reads no global state: settings, credentials
and clients are passed in as arguments. Every error it raises derives from
:class:`signing.errors.SigningError`.
"""

from signing.errors import (
    CredentialError,
    InvalidDocument,
    SignerCertificateRejected,
    SigningError,
)

__all__ = ["CredentialError", "InvalidDocument", "SignerCertificateRejected", "SigningError"]
