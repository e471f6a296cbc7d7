"""Administration commands: ``flask users``, ``flask tokens``, ``flask credentials``,
``flask signers``, ``flask storage``, ``flask audit``, ``flask fixity`` and ``flask ltv``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .audit import record_event
from .auth import hash_token, issue_token
from .extensions import db
from .models import ROLES, ApiToken, SigningCredential, User, utcnow

users_cli = AppGroup("users", help="Create and list users.")
tokens_cli = AppGroup("tokens", help="Issue API tokens.")
credentials_cli = AppGroup("credentials", help="Register signing credentials.")
storage_cli = AppGroup("storage", help="Prepare the object store.")
audit_cli = AppGroup("audit", help="Check the audit log.")
fixity_cli = AppGroup("fixity", help="Audit the stored bytes against their recorded SHA-256.")
ltv_cli = AppGroup("ltv", help="Keep signatures verifiable in the long term (PAdES B-LTA).")
export_cli = AppGroup("export", help="Export documents as BagIt packages.")
signers_cli = AppGroup("signers", help="Change who holds a document's signing roles.")


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
    record_event("user.create", "success", details={"username": username, "role": role, "via": "cli"})
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


@users_cli.command("set-password")
@click.argument("username")
def set_user_password(username: str) -> None:
    """Set the password a user signs in to the web pages with; it is prompted for, never echoed.

    The user's open web sessions end, so a browser signed in with the old
    password must sign in again.
    """
    from .passwords import check_new_password, set_password
    from .web.sessions import end_user_sessions

    user = _user_or_fail(username)
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_new_password(password)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    set_password(user, password)
    ended = end_user_sessions(user)
    record_event("user.password_set", "success", actor=user,
                 details={"via": "cli", "sessions_ended": ended})
    db.session.commit()
    click.echo(f"password set for {username}; {ended} web sessions ended")


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
    token_id = db.session.execute(db.select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))).scalar_one()
    record_event("token.issue", "success", actor=user,
                 details={"token_id": token_id, "label": label, "via": "cli"})
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
        record_event("token.revoke", "success", actor=token.user,
                     details={"token_id": token.id, "label": token.label, "via": "cli"})
        db.session.commit()
    click.echo(f"token {token_id} of {token.user.username} is revoked")


_CONFIRM_HOLDER_HELP = ("The certificate's subject common name, exactly, to confirm that the certificate belongs "
                        "to the user when the common name is not the user's name.")


def _register_credential(user: User, kind: str, location: str, certificate, chain, confirm_holder: str | None,
                         secret_file: Path | None = None) -> None:
    """Bind the certificate to the user after the checks of service.credentials, and store the credential."""
    from .components import components
    from .credentials import CredentialRejected, bind_certificate, new_credential

    try:
        binding = bind_certificate(user, certificate, chain, components().policy, confirmed_holder=confirm_holder)
    except CredentialRejected as error:
        raise click.ClickException(f"certificate rejected ({error.reason}): {error.message}") from None
    db.session.add(new_credential(user, kind, location, binding,
                                  secret_file=str(secret_file.resolve()) if secret_file else None))
    db.session.commit()
    click.echo(f"registered {kind} credential for {user.username}: {binding.subject} "
               f"(certificate sha256 {binding.sha256}, binding {binding.binding})")


@credentials_cli.command("add")
@click.argument("username")
@click.option("--pkcs12", "pkcs12_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="PKCS#12 file with the signer's key, certificate and chain.")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File that contains the PKCS#12 passphrase (readable only by the service). Without it the "
                   "passphrase is prompted for once to check the file, is not stored, and the officer types it "
                   "at each signature.")
@click.option("--confirm-holder", default=None, help=_CONFIRM_HOLDER_HELP)
def add_credential(username: str, pkcs12_path: Path, passphrase_file: Path | None, confirm_holder: str | None) -> None:
    """Register a PKCS#12 signing credential after checking that it opens and its certificate can sign."""
    from signing.credentials import load_pkcs12_signer
    from signing.errors import SigningError

    user = _user_or_fail(username)
    if passphrase_file is not None:
        passphrase = passphrase_file.read_bytes().strip()
    else:
        passphrase = click.prompt("PKCS#12 passphrase", hide_input=True).encode("utf-8")
    try:
        signer = load_pkcs12_signer(pkcs12_path.resolve(), passphrase)
    except SigningError as error:
        raise click.ClickException(f"cannot open {pkcs12_path}: {error}") from None
    _register_credential(user, "pkcs12", str(pkcs12_path.resolve()), signer.signing_cert, list(signer.cert_registry),
                         confirm_holder, secret_file=passphrase_file)


@credentials_cli.command("add-pkcs11")
@click.argument("username")
@click.option("--uri", required=True,
              help="RFC 7512 URI of the key, e.g. 'pkcs11:token=Seal;object=seal?module-path=/usr/lib/x.so'.")
@click.option("--pin-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File that contains the PIN, for keys the service uses unattended (an office seal in an HSM). "
                   "Without it, each signing request sends the PIN.")
@click.option("--confirm-holder", default=None, help=_CONFIRM_HOLDER_HELP)
def add_pkcs11_credential(username: str, uri: str, pin_file: Path | None, confirm_holder: str | None) -> None:
    """Register a key on a PKCS#11 token or HSM after checking its certificate; with a PIN file, check that it opens.

    Without a PIN file the certificate is read in a public session.
    """
    from signing.errors import SigningError
    from signing.pkcs11 import open_pkcs11_signer, parse_pkcs11_uri, read_token_certificate

    user = _user_or_fail(username)
    try:
        settings = parse_pkcs11_uri(uri)
    except ValueError as error:
        raise click.ClickException(f"invalid PKCS#11 URI: {error}") from None
    try:
        if pin_file is not None:
            with open_pkcs11_signer(settings, pin_file.read_bytes().strip()) as signer:
                certificate, chain = signer.signing_cert, list(signer.cert_registry)
        else:
            certificate, chain = read_token_certificate(settings), []
    except SigningError as error:
        raise click.ClickException(f"cannot open the key: {error}") from None
    _register_credential(user, "pkcs11", uri, certificate, chain, confirm_holder, secret_file=pin_file)


@credentials_cli.command("add-external")
@click.argument("username")
@click.option("--certificate", "certificate_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The officer's signing certificate (PEM or DER) whose key stays on their token.")
@click.option("--confirm-holder", default=None, help=_CONFIRM_HOLDER_HELP)
def add_external_credential(username: str, certificate_path: Path, confirm_holder: str | None) -> None:
    """Register a certificate for two-phase signing with a key the service never holds."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    from .external_signing import certificate_fingerprint

    user = _user_or_fail(username)
    data = certificate_path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    try:
        certificate = asn1_x509.Certificate.load(data)
        certificate.native  # noqa: B018 (parses the whole certificate, so malformed DER fails here)
    except (ValueError, TypeError) as error:
        raise click.ClickException(f"{certificate_path} is not an X.509 certificate: {error}") from None
    _register_credential(user, "external", f"sha256:{certificate_fingerprint(data)}", certificate, [],
                         confirm_holder)


@storage_cli.command("init")
def init_storage() -> None:
    """Create the bucket with versioning and object lock if it does not exist, and check encryption.

    With DOLIL_S3_SSE (the default) a probe object checks that the store applies
    server-side encryption; a store that does not makes this command fail.
    """
    from storage import StorageError

    from .components import components

    try:
        store = components().store
        store.ensure_bucket()
        store.check()
    except StorageError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"bucket {store.bucket} is ready; server-side encryption "
               + ("(SSE-S3, AES256) is on" if store.sse else "is off (DOLIL_S3_SSE=0)"))


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
    for state, bundles in (("MISMATCH", result.validation_data_mismatched), ("MISSING", result.validation_data_missing)):
        for bundle in bundles:
            click.echo(f"{state} validation data of document {bundle.document_id} revision {bundle.revision.number} "
                       f"key {bundle.object_key}")
    if result.mismatched or result.missing or result.validation_data_mismatched or result.validation_data_missing:
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
    for row in result.missing_validation_data:
        click.echo(f"MISSING validation data of document {row.document_id} revision {row.revision.number} "
                   f"key {row.object_key}")
    for revision in result.retention_finished:
        click.echo(f"RETENTION SET document {revision.document_id} revision {revision.number}")
    for revision in result.retention_failed:
        click.echo(f"RETENTION FAILED document {revision.document_id} revision {revision.number}")
    missing = len(result.missing) + len(result.missing_validation_data)
    click.echo(f"{len(result.orphans)} orphaned versions, {len(result.discarded)} discarded, "
               f"{missing} missing objects, {result.skipped_recent} recent versions skipped, "
               f"{len(result.retention_finished)} retentions set, {len(result.retention_failed)} failed")
    if (result.orphans and len(result.discarded) < len(result.orphans) or missing
            or result.retention_failed):
        raise SystemExit(1)


@ltv_cli.command("renew")
@click.option("--margin-days", type=click.IntRange(min=0), default=None,
              help="Renew when the newest time-stamp's TSA certificate expires within this many days "
                   "[default: DOLIL_LTV_RENEWAL_MARGIN_DAYS, 90].")
@click.option("--dry-run", is_flag=True, help="Only list the revisions that are due; store nothing.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Examine at most this many documents in this run; the next run continues after them.")
@click.option("--restart", is_flag=True, help="Start again from the first document.")
def ltv_renew(margin_days: int | None, dry_run: bool, limit: int | None, restart: bool) -> None:
    """Add a fresh archival time-stamp to current revisions whose newest one is due; exits 1 when any failed."""
    from datetime import timedelta

    from storage import StorageError

    from .components import components
    from .ltv import renew_due_revisions

    if margin_days is None:
        margin_days = components().settings.ltv_renewal_margin_days

    def progress(outcome) -> None:
        newest = outcome.newest
        expiry = newest.tsa_not_after.isoformat() if newest.tsa_not_after else "unknown"
        what = (f"document {outcome.document_id} revision {outcome.revision}: {', '.join(outcome.reasons)} "
                f"({newest.kind} time-stamp, TSA certificate expires {expiry}, digest {newest.digest_algorithm})")
        if outcome.error:
            click.echo(f"FAILED {what}: {outcome.error}")
        elif outcome.new_revision is not None:
            click.echo(f"RENEWED {what} -> revision {outcome.new_revision}")
        else:
            click.echo(f"DUE {what}")

    try:
        run = renew_due_revisions(margin=timedelta(days=margin_days), dry_run=dry_run, limit=limit,
                                  restart=restart, progress=progress)
    except (LookupError, StorageError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"examined {run.examined} documents: {len(run.due)} due, {len(run.renewed)} renewed, "
               f"{len(run.failed)} failed" + (" (dry run, nothing stored)" if dry_run else "")
               + ("; the next run starts from the first document" if run.wrapped and not dry_run else ""))
    if run.failed:
        raise SystemExit(1)


@audit_cli.command("verify")
@click.option("--no-checkpoints", is_flag=True,
              help="Check only the hash chain in the database, without reading checkpoints from the store.")
def verify_audit(no_checkpoints: bool) -> None:
    """Check the audit log's hash chain and its checkpoints; exits 1 and names the first bad event."""
    from storage import StorageError

    from .audit import check_chain
    from .audit_checkpoints import check_checkpoints

    chain = check_chain()
    problems = list(chain.problems)
    click.echo(f"checked {chain.events} events")
    if not no_checkpoints:
        try:
            checkpoints = check_checkpoints(db.session, chain)
        except StorageError as error:
            raise click.ClickException(f"cannot read the checkpoints: {error}") from None
        problems += checkpoints.problems
        click.echo(f"checked {checkpoints.checked} checkpoints, {checkpoints.timestamped} with a timestamp token"
                   + (f" ({checkpoints.untrusted_timestamps} from a TSA outside the trust anchors)"
                      if checkpoints.untrusted_timestamps else ""))
    if not problems:
        click.echo("audit log intact")
        return
    for problem in problems:
        click.echo(f"BAD {problem.describe()}")
    numbered = [problem for problem in problems if problem.sequence is not None]
    if numbered:
        first = min(numbered, key=lambda problem: problem.sequence)
        click.echo(f"first bad event: {first.sequence}" + (f" (id {first.event_id})" if first.event_id else ""))
    raise SystemExit(1)


@audit_cli.command("checkpoint")
@click.option("--sequence", type=click.IntRange(min=1), default=None,
              help="Checkpoint this event instead of the newest one.")
def checkpoint_audit(sequence: int | None) -> None:
    """Write the audit log's head to the object store under object lock, timestamped when a TSA is set."""
    from .audit_checkpoints import CheckpointError, write_checkpoint

    try:
        checkpoint = write_checkpoint(db.session, sequence)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"checkpoint of event {checkpoint.sequence} ({checkpoint.event_hash}) written to {checkpoint.key}"
               f" version {checkpoint.version_id}" + (", timestamped" if checkpoint.timestamped else ""))


@export_cli.command("document")
@click.argument("document_id")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_document(document_id: str, directory: Path) -> None:
    """Write a document's revisions, validation reports and audit events as a BagIt bag in DIRECTORY.

    DIRECTORY must not exist yet; its parent must.
    """
    from storage import StorageError

    from .export import export_bag
    from .problems import ApiProblem

    if directory.exists():
        raise click.ClickException(f"{directory} exists already; name a new directory")
    try:
        bag = export_bag(document_id, None, directory, via="cli")
    except ApiProblem as problem:
        raise click.ClickException(f"{problem.code}: document {document_id}") from None
    except (StorageError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"exported document {document_id} to {bag.path} (Payload-Oxum {bag.payload_oxum})")


@signers_cli.command("set")
@click.argument("document_id")
@click.argument("role")
@click.argument("username")
def set_signer(document_id: str, role: str, username: str) -> None:
    """Make USERNAME, an active officer, the holder of ROLE (e.g. chair) of a document, before the role is signed."""
    from . import i18n
    from .problems import ApiProblem
    from .signers import change_signer

    try:
        change_signer(document_id, None, role, username)
    except ApiProblem as problem:
        db.session.rollback()
        _, detail = i18n.problem_text(problem.code, "en", problem.params)
        raise click.ClickException(f"{problem.code}: {detail}") from None
    click.echo(f"{username} now holds the role {role} of document {document_id}")


def register_commands(app: Flask) -> None:
    for group in (users_cli, tokens_cli, credentials_cli, signers_cli, storage_cli, audit_cli, fixity_cli, ltv_cli,
                  export_cli):
        app.cli.add_command(group)
