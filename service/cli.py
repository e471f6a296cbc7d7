"""Administration commands: ``flask users``, ``flask tokens``, ``flask credentials``,
``flask storage`` and ``flask audit``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .auth import issue_token
from .extensions import db
from .models import ROLES, ApiToken, SigningCredential, User, utcnow

users_cli = AppGroup("users", help="Create and list users.")
tokens_cli = AppGroup("tokens", help="Issue API tokens.")
credentials_cli = AppGroup("credentials", help="Register signing credentials.")
storage_cli = AppGroup("storage", help="Prepare the object store.")
audit_cli = AppGroup("audit", help="Check the audit log.")
fixity_cli = AppGroup("fixity", help="Audit the stored bytes against their recorded SHA-256.")


def _user_or_fail(username: str) -> User:
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"user {username!r} not found; create it with 'flask users create'")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Role that decides what the user may do.")
@click.option("--name", "display_name", default="", help="Full name shown in the interface, audit log and stamps.")
@click.option("--designation", default=None, help="Designation shown in visible signature stamps.")
@click.option("--office", default=None, help="Office shown in visible signature stamps.")
def create_user(username: str, role: str, display_name: str, designation: str | None, office: str | None) -> None:
    """Create a user."""
    if db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none():
        raise click.ClickException(f"user {username!r} already exists")
    db.session.add(User(username=username, role=role, display_name=display_name or username,
                        designation=designation, office=office))
    db.session.commit()
    click.echo(f"created user {username} with role {role}")


@users_cli.command("update")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="Full name shown in the interface, audit log and stamps.")
@click.option("--designation", default=None, help="Designation shown in visible signature stamps.")
@click.option("--office", default=None, help="Office shown in visible signature stamps.")
def update_user(username: str, display_name: str | None, designation: str | None, office: str | None) -> None:
    """Change a user's name, designation or office; options not given stay as they are."""
    user = _user_or_fail(username)
    for attribute, value in (("display_name", display_name), ("designation", designation), ("office", office)):
        if value is not None:
            setattr(user, attribute, value)
    db.session.commit()
    click.echo(f"updated user {username}")


@users_cli.command("list")
def list_users() -> None:
    """List users with their roles."""
    for user in db.session.execute(db.select(User).order_by(User.id)).scalars():
        click.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'inactive'}\t{user.display_name}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--label", default="", help="Note that identifies the token, e.g. the client that uses it.")
def create_token(username: str, label: str) -> None:
    """Issue an API token and print it once; only its hash is stored."""
    user = _user_or_fail(username)
    token = issue_token(user, label=label)
    db.session.commit()
    click.echo(token)


@tokens_cli.command("list")
@click.argument("username")
def list_tokens(username: str) -> None:
    """List a user's tokens: id, label, created, last used and revoked times."""
    user = _user_or_fail(username)
    for token in user.tokens:
        click.echo(f"{token.id}\t{token.label or '-'}\tcreated {token.created_at:%Y-%m-%d %H:%M}"
                   f"\tlast used {token.last_used_at or '-'}\trevoked {token.revoked_at or '-'}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke a token by its id (see 'flask tokens list'); it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    click.echo(f"token {token_id} of {token.user.username} is revoked")


@credentials_cli.command("add")
@click.argument("username")
@click.option("--pkcs12", "pkcs12_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="PKCS#12 file with the signer's key, certificate and chain.")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="File that contains the PKCS#12 passphrase (readable only by the service).")
def add_credential(username: str, pkcs12_path: Path, passphrase_file: Path) -> None:
    """Register a PKCS#12 signing credential for a user after checking that it opens."""
    from signing.credentials import load_pkcs12_signer
    from signing.errors import SigningError

    user = _user_or_fail(username)
    try:
        signer = load_pkcs12_signer(pkcs12_path.resolve(), passphrase_file.read_bytes().strip())
    except SigningError as error:
        raise click.ClickException(f"cannot open {pkcs12_path}: {error}") from None
    db.session.add(SigningCredential(user=user, kind="pkcs12", location=str(pkcs12_path.resolve()),
                                     secret_file=str(passphrase_file.resolve())))
    db.session.commit()
    click.echo(f"registered credential for {username}: {signer.signing_cert.subject.human_friendly}")


@credentials_cli.command("add-pkcs11")
@click.argument("username")
@click.option("--uri", required=True,
              help="RFC 7512 URI of the key, e.g. 'pkcs11:token=Seal;object=seal?module-path=/usr/lib/x.so'.")
@click.option("--pin-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File that contains the PIN, for keys the service uses unattended (an office seal in an HSM). "
                   "Without it, each signing request sends the PIN.")
def add_pkcs11_credential(username: str, uri: str, pin_file: Path | None) -> None:
    """Register a key on a PKCS#11 token or HSM for a user; with a PIN file, check that it opens."""
    from signing.errors import SigningError
    from signing.pkcs11 import open_pkcs11_signer, parse_pkcs11_uri

    user = _user_or_fail(username)
    try:
        settings = parse_pkcs11_uri(uri)
    except ValueError as error:
        raise click.ClickException(f"invalid PKCS#11 URI: {error}") from None
    subject = "not checked: no PIN file"
    if pin_file is not None:
        try:
            with open_pkcs11_signer(settings, pin_file.read_bytes().strip()) as signer:
                subject = signer.signing_cert.subject.human_friendly
        except SigningError as error:
            raise click.ClickException(f"cannot open the key: {error}") from None
    db.session.add(SigningCredential(user=user, kind="pkcs11", location=uri,
                                     secret_file=str(pin_file.resolve()) if pin_file else None))
    db.session.commit()
    click.echo(f"registered PKCS#11 credential for {username}: {subject}")


@credentials_cli.command("add-external")
@click.argument("username")
@click.option("--certificate", "certificate_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The officer's signing certificate (PEM or DER) whose key stays on their token.")
def add_external_credential(username: str, certificate_path: Path) -> None:
    """Register a certificate for two-phase signing with a key the service never holds."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    from signing.errors import SigningError
    from signing.sign import check_signer_certificate

    from .external_signing import certificate_fingerprint

    user = _user_or_fail(username)
    data = certificate_path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    try:
        certificate = asn1_x509.Certificate.load(data)
        subject = certificate.subject.human_friendly
        check_signer_certificate(certificate)
    except (ValueError, TypeError) as error:
        raise click.ClickException(f"{certificate_path} is not an X.509 certificate: {error}") from None
    except SigningError as error:
        raise click.ClickException(f"the certificate cannot sign: {error}") from None
    db.session.add(SigningCredential(user=user, kind="external", location=f"sha256:{certificate_fingerprint(data)}"))
    db.session.commit()
    click.echo(f"registered external credential for {username}: {subject}")


@storage_cli.command("init")
def init_storage() -> None:
    """Create the bucket with versioning and object lock if it does not exist."""
    from storage import StorageError

    from .components import components

    try:
        store = components().store
        store.ensure_bucket()
        store.check()
    except StorageError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"bucket {store.bucket} is ready")


@fixity_cli.command("check")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Check at most this many revisions in this run; the next run continues after them.")
@click.option("--restart", is_flag=True, help="Start again from the first revision.")
def fixity_check(limit: int | None, restart: bool) -> None:
    """Re-hash stored revisions and record each result; exits 1 when any failed."""
    from storage import StorageError

    from .preservation import check_fixity

    def progress(checked: int, revision) -> None:
        if checked % 100 == 0:
            click.echo(f"checked {checked} revisions (last: document {revision.document_id} revision {revision.number})")

    try:
        result = check_fixity(limit, restart=restart, progress=progress)
    except StorageError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"checked {result.checked} revisions: {len(result.mismatched)} mismatched, {len(result.missing)} missing"
               + ("; the next run starts from the first revision" if result.wrapped else ""))
    for revision in result.mismatched:
        click.echo(f"MISMATCH document {revision.document_id} revision {revision.number} key {revision.object_key}")
    for revision in result.missing:
        click.echo(f"MISSING document {revision.document_id} revision {revision.number} key {revision.object_key}")
    if result.mismatched or result.missing:
        raise SystemExit(1)


@storage_cli.command("reconcile")
@click.option("--discard", is_flag=True, help="Delete orphaned versions whose retention allows it.")
@click.option("--min-age-minutes", type=click.IntRange(min=0), default=60, show_default=True,
              help="Leave versions younger than this alone: their upload may still be committing.")
def reconcile_storage(discard: bool, min_age_minutes: int) -> None:
    """List object versions without a revision row and rows without an object.

    Also sets the final retention of revisions still waiting for it. Exits 1
    when orphans, missing objects or pending retentions remain.
    """
    from datetime import timedelta

    from storage import StorageError

    from .preservation import reconcile

    try:
        result = reconcile(discard=discard, min_age=timedelta(minutes=min_age_minutes))
    except StorageError as error:
        raise click.ClickException(str(error)) from None
    for orphan in result.orphans:
        state = "discarded" if orphan in result.discarded else "kept"
        click.echo(f"ORPHAN {orphan.key} version {orphan.version_id} ({state})")
    for orphan, reason in result.kept:
        click.echo(f"KEPT {orphan.key} version {orphan.version_id}: {reason}")
    for revision in result.missing:
        click.echo(f"MISSING document {revision.document_id} revision {revision.number} key {revision.object_key}")
    for revision in result.retention_finished:
        click.echo(f"RETENTION SET document {revision.document_id} revision {revision.number}")
    for revision in result.retention_failed:
        click.echo(f"RETENTION FAILED document {revision.document_id} revision {revision.number}")
    click.echo(f"{len(result.orphans)} orphaned versions, {len(result.discarded)} discarded, "
               f"{len(result.missing)} missing objects, {result.skipped_recent} recent versions skipped, "
               f"{len(result.retention_finished)} retentions set, {len(result.retention_failed)} failed")
    if (result.orphans and len(result.discarded) < len(result.orphans) or result.missing
            or result.retention_failed):
        raise SystemExit(1)


@audit_cli.command("verify")
def verify_audit() -> None:
    """Check the hash chain of the audit log."""
    from .audit import verify_chain

    broken = verify_chain()
    if broken:
        raise click.ClickException(f"audit chain broken at event ids {broken[:20]}")
    click.echo("audit chain intact")


def register_commands(app: Flask) -> None:
    for group in (users_cli, tokens_cli, credentials_cli, storage_cli, audit_cli, fixity_cli):
        app.cli.add_command(group)
