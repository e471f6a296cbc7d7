"""Integrity of a signed revision and of the updates after it.

:func:`review_integrity` collects, for one signature, what the document
structure shows about the bytes around it, in three grades:

- format failures: the /ByteRange or /Contents layout breaks ISO 32000-1 and
  PAdES (:mod:`signing.byterange`), so the signed bytes are not the revision;
- failures: pyHanko's coverage check or difference analysis rejects an update,
  the DocMDP permissions of a certification signature are exceeded, or an
  update reactivates bytes written before it (:mod:`signing.changes`);
- doubts: changes that may alter what a reader sees or relies on, including
  pages that look different after signing (:mod:`signing.visual`).

:mod:`signing.validation` turns these grades into ETSI indications.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel, SuspiciousModification
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.byterange import check_byte_range
from signing.changes import revision_changes
from signing.revisions import DocumentFacts, FieldEntry, shorten
from signing.visual import VisualComparison

__all__ = ["IntegrityFindings", "review_integrity"]


@dataclass
class IntegrityFindings:
    coverage: str
    revisions_after: int
    modified_after_signing: bool
    modification_level: str | None
    changes: list[str] = field(default_factory=list)
    format_failures: list[str] = field(default_factory=list)
    """Reasons for TOTAL_FAILED/FORMAT_FAILURE that come before any cryptographic result."""
    failures: list[str] = field(default_factory=list)
    """Reasons for TOTAL_FAILED/FORMAT_FAILURE."""
    doubts: list[str] = field(default_factory=list)
    """Reasons for INDETERMINATE/FORMAT_FAILURE."""
    warnings: list[str] = field(default_factory=list)
    """Notes that do not change the indication."""
    visual_check: dict = field(default_factory=dict)
    visual_differences: list[dict] = field(default_factory=list)


def review_integrity(
    entry: FieldEntry, document: DocumentFacts, visual: VisualComparison
) -> IntegrityFindings:
    """Review the byte range, the updates after the signed revision and how the pages look."""
    signature = entry.signature
    assert signature is not None
    # Digest and coverage only: the difference analysis runs below, one revision at a
    # time, so that a rejected update can be attributed to its revision.
    signature.compute_integrity_info(skip_diff=True)
    coverage = signature.coverage
    if coverage == SignatureCoverageLevel.ENTIRE_FILE and document.trailing_bytes:
        # The reader saw only the data up to the end of the last revision.
        coverage = SignatureCoverageLevel.ENTIRE_REVISION
    signed_revision = signature.signed_revision
    revisions_after = document.last_revision - signed_revision
    findings = IntegrityFindings(
        coverage=coverage.name,
        revisions_after=revisions_after,
        modified_after_signing=revisions_after > 0 or coverage != SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=None,
    )

    layout_problems = check_byte_range(entry, document)
    if layout_problems:
        findings.modified_after_signing = True
        findings.changes.extend(layout_problems)
        findings.format_failures.extend(layout_problems)

    if coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reason = "the signature's byte range does not cover a complete revision of the file"
        findings.changes.append(reason)
        findings.failures.append(reason)
    else:
        for revision in range(signed_revision + 1, document.last_revision + 1):
            changes = revision_changes(document, revision)
            findings.changes.extend(changes.benign + changes.questionable + changes.forbidden)
            findings.doubts.extend(changes.questionable)
            findings.failures.extend(changes.forbidden)
        _review_updates(signature, document, findings)

    if document.trailing_bytes:
        reason = (
            f"{document.trailing_bytes} bytes after the end of the last revision "
            f"(after %%EOF) are not part of any revision"
        )
        findings.changes.append(reason)
        findings.doubts.append(reason)

    outcome = visual.compare(signed_revision)
    findings.visual_check = outcome.check
    findings.visual_differences = outcome.differences
    findings.changes.extend(outcome.descriptions)
    findings.doubts.extend(outcome.descriptions)
    findings.warnings.extend(outcome.warnings)
    findings.warnings.extend(f"visual comparison: {note}" for note in outcome.check["notes"])
    return findings


def _review_updates(
    signature: EmbeddedPdfSignature, document: DocumentFacts, findings: IntegrityFindings
) -> None:
    """Run pyHanko's difference analysis on each revision after the signed one."""
    reader = document.reader
    base = reader.get_historical_resolver(signature.signed_revision)
    level = ModificationLevel.NONE
    changed_fields: set[str] = set()

    for revision in range(signature.signed_revision + 1, document.last_revision + 1):
        try:
            result = DEFAULT_DIFF_POLICY.apply(
                old=base,
                new=reader.get_historical_resolver(revision),
                field_mdp_spec=signature.fieldmdp,
                doc_mdp=signature.docmdp_level,
            )
        except SuspiciousModification as exc:
            reason = (
                f"revision {revision} contains changes that are not permitted after "
                f"signing: {shorten(str(exc))}"
            )
            findings.modification_level = ModificationLevel.OTHER.name
            findings.changes.append(reason)
            findings.failures.append(reason)
            return
        level = max(level, result.modification_level)
        changed_fields |= result.changed_form_fields

    findings.modification_level = level.name
    docmdp = signature.docmdp_level
    if docmdp is not None and level.value > docmdp.value:
        reason = (
            f"changes after signing ({level.name}) exceed the DocMDP permissions "
            f"({docmdp.name}) of this certification signature"
        )
        findings.changes.append(reason)
        findings.failures.append(reason)
    if level == ModificationLevel.ANNOTATIONS and not any(" annotation" in change for change in findings.changes):
        reason = "annotations were added, changed or removed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)
    for name in sorted(changed_fields - document.signed_field_names):
        reason = f"form field {name!r} was filled or changed after signing"
        findings.changes.append(reason)
        findings.doubts.append(reason)
