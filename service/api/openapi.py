"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from flask import current_app

from ..auth import PERMISSIONS, public
from ..problems import STATUS_BY_CODE
from . import bp
from .documents import MAX_PAGE_SIZE, SUPPORTED_LEVELS, VERIFICATION_HEADERS

INDICATIONS = ["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]


def _problem_responses(*statuses: int) -> dict:
    return {
        str(status): {"$ref": f"#/components/responses/Problem{status}"}
        for status in statuses
    }


def _roles(permission: str) -> str:
    return "Roles: " + ", ".join(sorted(PERMISSIONS[permission])) + "."


def _schemas() -> dict:
    revision = {
        "type": "object",
        "properties": {
            "number": {"type": "integer", "description": "1 for the upload, +1 for each signature"},
            "sha256": {"type": "string", "description": "hex SHA-256 recorded when the revision was stored"},
            "size": {"type": "integer"},
            "reason": {"type": "string", "enum": ["uploaded", "signed"]},
            "source_type": {"type": "string", "enum": ["pdf", "jpeg", "png", "tiff"]},
            "object_key": {"type": "string"},
            "version_id": {"type": ["string", "null"], "description": "S3 version id that is always the one read"},
            "created_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
    signature = {
        "type": "object",
        "properties": {
            "field_name": {"type": "string"},
            "revision": {"type": "integer"},
            "signer_subject": {"type": ["string", "null"]},
            "signer_issuer": {"type": ["string", "null"]},
            "signer_serial": {"type": ["string", "null"], "description": "hex"},
            "signing_time": {"type": ["string", "null"], "format": "date-time"},
            "level": {"type": ["string", "null"], "enum": ["B-B", "B-T", "B-LT", "B-LTA", None]},
            "signed_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
    signature_report = {
        "type": "object",
        "description": "Validation of one signature, with an ETSI EN 319 102-1 indication.",
        "properties": {
            "field_name": {"type": "string"},
            "indication": {"type": "string", "enum": INDICATIONS},
            "sub_indication": {"type": ["string", "null"],
                               "description": "e.g. HASH_FAILURE, SIG_CRYPTO_FAILURE, FORMAT_FAILURE, REVOKED_NO_POE, "
                                              "REVOKED_CA_NO_POE, NO_CERTIFICATE_CHAIN_FOUND, NO_SIGNING_CERTIFICATE_FOUND, "
                                              "OUT_OF_BOUNDS_NO_POE, CHAIN_CONSTRAINTS_FAILURE, "
                                              "CRYPTO_CONSTRAINTS_FAILURE, TRY_LATER"},
            "signer_subject": {"type": ["string", "null"]},
            "signer_issuer": {"type": ["string", "null"]},
            "signer_serial": {"type": ["string", "null"]},
            "signing_time": {"type": ["string", "null"], "format": "date-time",
                             "description": "claimed signing time (signed attribute)"},
            "timestamp_time": {"type": ["string", "null"], "format": "date-time",
                               "description": "time of the signature timestamp, if any"},
            "level": {"type": ["string", "null"]},
            "coverage": {"type": "string",
                         "enum": ["ENTIRE_FILE", "ENTIRE_REVISION", "CONTIGUOUS_BLOCK_FROM_START", "UNCLEAR"]},
            "byte_range": {"type": ["array", "null"], "items": {"type": "integer"},
                           "description": "the signature's /ByteRange as found"},
            "poe_time": {"type": ["string", "null"], "format": "date-time",
                         "description": "earliest proof of existence of the signature (from a timestamp)"},
            "timestamps": {"type": "array", "items": {"type": "object"},
                           "description": "signature and document timestamps with their times and authorities"},
            "visual_check": {"type": "object",
                             "description": "rendering comparison of each signed revision with later ones: status "
                                            "(disabled, not_needed, passed, differences, failed), dpi, pages and "
                                            "revisions compared, notes on limits that applied"},
            "visual_differences": {"type": "array", "items": {"type": "object"},
                                   "description": "pages that look different after signing: page, revision, "
                                                  "signed_revision, kind, changed_pixels, region"},
            "signed_revision": {"type": "integer", "description": "0-based index of the PDF revision the signature covers"},
            "archive": {"type": ["object", "null"],
                        "description": "in a stored document's verification only: the archive revision this "
                                       "signature created, its role and the user who signed (revision, role, "
                                       "signed_by); null for a signature made before the upload"},
            "revisions_after": {"type": "integer", "description": "incremental updates after the signed revision"},
            "modified_after_signing": {"type": "boolean"},
            "modification_level": {"type": ["string", "null"]},
            "changes": {"type": "array", "items": {"type": "string"},
                        "description": "what changed after signing, each naming its revision"},
            "chain": {"type": "array", "items": {"type": "string"}},
            "revocation": {
                "type": "object",
                "properties": {
                    "mode": {"type": "string", "enum": ["hard-fail", "soft-fail"]},
                    "checked": {"type": "boolean"},
                    "status": {"type": "string", "enum": ["good", "revoked", "unknown", "not_checked"]},
                    "note": {"type": "string"},
                },
            },
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }
    document = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "kind": {"type": "string", "enum": ["minutes", "evidence"]},
            "title": {"type": "string"},
            "memo_number": {"type": ["string", "null"], "description": "normalised to ASCII digits"},
            "document_date": {"type": ["string", "null"], "format": "date"},
            "meeting_date": {"type": ["string", "null"], "format": "date"},
            "legal_hold": {"type": "boolean"},
            "created_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "revision": {"type": "integer", "description": "number of the current revision"},
            "sha256": {"type": "string"},
            "size": {"type": "integer"},
            "links": {"type": "object", "additionalProperties": {"type": "string"}},
            "revisions": {"type": "array", "items": {"$ref": "#/components/schemas/Revision"}},
            "signatures": {"type": "array", "items": {"$ref": "#/components/schemas/Signature"}},
            "signing": {"$ref": "#/components/schemas/SigningState"},
            "last_verification": {
                "type": ["object", "null"],
                "properties": {
                    "verified_at": {"type": "string", "format": "date-time"},
                    "revision": {"type": "integer"},
                    "fixity_ok": {"type": "boolean"},
                    "indication": {"type": ["string", "null"]},
                },
            },
        },
    }
    signing_state = {
        "type": "object",
        "description": "The signing order of the document's kind and how far it has come.",
        "properties": {
            "required": {"type": "array", "items": {"type": "string"}, "description": "roles in signing order"},
            "signed": {"type": "array", "items": {"type": "string"}},
            "next": {"type": ["string", "null"], "description": "the next role to sign; null when all have signed"},
            "valid": {"type": "boolean",
                      "description": "whether the latest verification of the current revision passed"},
            "complete": {"type": "boolean", "description": "every role has signed and the signatures validate"},
            "roles": {"type": "array", "items": {"type": "object", "properties": {
                "role": {"type": "string"},
                "holder": {"type": ["string", "null"],
                           "description": "username of the officer who holds the role (or signed it); "
                                          "null while any officer who has not signed may take it"},
                "signed": {"type": "boolean"},
            }}},
        },
    }
    verification = {
        "type": "object",
        "properties": {
            "document_id": {"type": "string"},
            "revision": {"type": "integer"},
            "verified_at": {"type": "string", "format": "date-time"},
            "fixity": {
                "type": "object",
                "properties": {
                    "ok": {"type": "boolean"},
                    "expected_sha256": {"type": "string"},
                    "actual_sha256": {"type": "string"},
                },
            },
            "indication": {"type": "string", "enum": INDICATIONS + ["NO_SIGNATURE"],
                           "description": "worst indication of all signatures; TOTAL_FAILED when fixity failed"},
            "sub_indication": {"type": "string", "description": "FIXITY_FAILURE when the stored bytes do not match"},
            "signatures": {"type": "array", "items": {"$ref": "#/components/schemas/SignatureReport"}},
            "policy": {"type": "string"},
            "policy_fingerprint": {"type": "string"},
            "validated_at": {"type": "string", "format": "date-time"},
            "trailing_bytes": {"type": "integer", "description": "bytes after the last %%EOF covered by no revision"},
            "leading_bytes": {"type": "integer",
                              "description": "bytes before the %PDF- header; offsets count from the header"},
            "reading": {"type": "string", "enum": ["strict", "non-strict"],
                        "description": "non-strict when pyHanko's strict reader rejects the file's structure "
                                       "and validation relied on its non-strict reader's repairs"},
            "strict_reading_error": {"type": ["string", "null"], "description": "why the strict reader failed"},
            "warnings": {"type": "array", "items": {"type": "string"}, "description": "findings about the whole file"},
            "notices": {"type": "array", "description": "the same findings for people, following Accept-Language",
                        "items": {"type": "object", "properties": {"code": {"type": "string"},
                                                                   "message": {"type": "string"}}}},
        },
    }
    der_item = {"type": "string", "contentEncoding": "base64", "description": "DER encoding"}
    sources = {"type": "array", "items": {"type": "string", "enum": ["embedded", "fetched", "path"]}}
    validation_data = {
        "type": "object",
        "description": "Certificates, CRLs and OCSP responses one validation used; lists are sorted by sha256.",
        "properties": {
            "format": {"type": "string", "const": "dolil-validation-data"},
            "version": {"type": "integer", "const": 1},
            "document_id": {"type": "string"},
            "revision": {"type": "integer"},
            "revision_sha256": {"type": "string"},
            "validated_at": {"type": "string", "format": "date-time"},
            "policy": {"type": "string"},
            "policy_fingerprint": {"type": "string"},
            "indication": {"type": "string"},
            "certificates": {"type": "array", "items": {"type": "object", "properties": {
                "sha256": {"type": "string"}, "subject": {"type": "string"}, "issuer": {"type": "string"},
                "serial": {"type": "string"}, "not_before": {"type": "string", "format": "date-time"},
                "not_after": {"type": "string", "format": "date-time"}, "sources": sources, "der": der_item}}},
            "crls": {"type": "array", "items": {"type": "object", "properties": {
                "sha256": {"type": "string"}, "issuer": {"type": "string"},
                "this_update": {"type": "string", "format": "date-time"},
                "next_update": {"type": ["string", "null"], "format": "date-time"}, "sources": sources,
                "der": der_item}}},
            "ocsp_responses": {"type": "array", "items": {"type": "object", "properties": {
                "sha256": {"type": "string"}, "status": {"type": "string"},
                "produced_at": {"type": "string", "format": "date-time"}, "sources": sources, "der": der_item}}},
        },
    }
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details; title and detail follow Accept-Language (bn or en).",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "enum": sorted(STATUS_BY_CODE)},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "field": {"type": "string", "description": "form or query field, for field_missing and field_invalid"},
        },
        "required": ["type", "title", "status", "code"],
    }
    return {
        "Document": document,
        "Revision": revision,
        "Signature": signature,
        "SigningState": signing_state,
        "SignatureReport": signature_report,
        "Verification": verification,
        "ValidationData": validation_data,
        "Problem": problem,
    }


PDF_REPORT_NOTE = (
    " JSON by default. With Accept: application/pdf or ?format=pdf the same report comes as an"
    " A4 PDF for filing, every label in Bengali with the English below it."
)


def build_openapi() -> dict:
    settings = current_app.config["DOLIL_SETTINGS"]
    document_id = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    report_format = {
        "name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "pdf"]},
        "description": "pdf returns the PDF report, as Accept: application/pdf does; json forces JSON",
    }
    pdf_content = {"schema": {"type": "string", "format": "binary"}}
    pdf_disposition = {"description": "with the PDF: inline and the report's file name",
                       "schema": {"type": "string"}}
    header_descriptions = {
        "fixity": "passed: the bytes match the SHA-256 recorded when the revision was stored",
        "sha256": "hex SHA-256 of the body",
        "revision": "revision number served",
        "indication": "TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE or NO_SIGNATURE",
        "signatures": "number of signatures in the PDF",
        "policy": "name of the validation policy",
        "validated_at": "when the signatures were validated",
        "report": "path of the full validation report",
    }
    responses = {
        f"Problem{status}": {
            "description": "problem details",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted(set(STATUS_BY_CODE.values()))
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dolil API",
            "version": "1",
            "description": "Archive of signed PDF minutes and evidence. Every read is verified: fixity against "
                           "the recorded SHA-256 and every signature validated against the trust anchors.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/documents": {
                "post": {
                    "summary": "Upload a PDF or a JPEG/PNG/TIFF scan",
                    "description": _roles("document:create")
                    + f" Files larger than {settings.max_upload_bytes} bytes get 413.",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200},
                        "description": "a retry with the same key and request returns the first document "
                                       "(with Idempotent-Replayed: true); the same key with another request gets 422",
                    }],
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": {
                            "type": "object",
                            "required": ["file", "kind", "title"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "kind": {"type": "string", "enum": ["minutes", "evidence"]},
                                "title": {"type": "string", "maxLength": 1000},
                                "memo_number": {"type": "string",
                                                "description": "2014 or 2024 form, Bengali or ASCII digits"},
                                "document_date": {"type": "string", "description": "YYYY-MM-DD or DD/MM/YYYY"},
                                "meeting_date": {"type": "string", "description": "YYYY-MM-DD or DD/MM/YYYY"},
                                "signers": {"type": "string", "contentMediaType": "application/json",
                                            "description": "JSON object naming the officer who holds each "
                                                           "signing role, e.g. {\"chair\": \"rahim\"}; the "
                                                           "uploader holds the first role (member_secretary, "
                                                           "submitter) unless it is named; a role not named may "
                                                           "be signed by any officer who has not signed yet"},
                            },
                        }}},
                    },
                    "responses": {
                        "201": {"description": "stored as revision 1",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                        **_problem_responses(401, 403, 413, 415, 422, 503),
                    },
                },
                "get": {
                    "summary": "List documents, newest first",
                    "description": _roles("document:read"),
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["minutes", "evidence"]}},
                        {"name": "memo_number", "in": "query", "schema": {"type": "string"},
                         "description": "full memo number or its leading groups, Bengali or ASCII digits"},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"},
                         "description": "next_cursor of the previous page"},
                    ],
                    "responses": {
                        "200": {"description": "a page of documents", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
                                "next_cursor": {"type": ["string", "null"]},
                            },
                        }}}},
                        **_problem_responses(401, 403, 422),
                    },
                },
            },
            "/documents/{document_id}": {
                "get": {
                    "summary": "Metadata, revisions, signatures and last verification",
                    "description": _roles("document:read"),
                    "parameters": [document_id],
                    "responses": {
                        "200": {"description": "the document",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                        **_problem_responses(401, 403, 404),
                    },
                },
            },
            "/documents/{document_id}/signatures": {
                "post": {
                    "summary": "Sign the current revision with the caller's credential",
                    "description": _roles("document:sign") + " The signed PDF is stored as a new revision.",
                    "parameters": [document_id],
                    "requestBody": {"content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {
                            "level": {"type": "string", "enum": list(SUPPORTED_LEVELS)},
                            "reason": {"type": "string", "maxLength": 200},
                            "location": {"type": "string", "maxLength": 200},
                            "role": {"type": "string", "description": "signing role; default: the next required "
                                                                      "role. A role another officer holds gets "
                                                                      "403 signature_role_not_assigned"},
                            "visible": {"type": "boolean", "description": "draw a Bengali stamp (name, designation, "
                                        "office, date in both calendars); default false"},
                            "page": {"type": "integer", "minimum": 1, "description": "stamp page; default the last"},
                            "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                                    "description": "stamp rectangle [x1, y1, x2, y2] in PDF points; "
                                                   "default: free space below the content"},
                        },
                    }}}},
                    "responses": {
                        "201": {"description": "signed", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "signature": {"$ref": "#/components/schemas/Signature"},
                                "validation": {"$ref": "#/components/schemas/SignatureReport"},
                                "document": {"$ref": "#/components/schemas/Document"},
                            },
                        }}}},
                        **_problem_responses(401, 403, 404, 409, 422, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/signatures/prepare": {
                "post": {
                    "summary": "Prepare a two-phase signature for a key the service never holds",
                    "description": _roles("document:sign") + " The signer certificate must be registered to the "
                    "caller (flask credentials add-external). The key holder signs `signed_attributes` "
                    "(RSASSA-PKCS1-v1_5 with SHA-256) and completes within 10 minutes. A stamp requested with "
                    "`visible` is drawn into the prepared revision, with the date of the preparation (the day "
                    "in Bangladesh), and the signed digest covers it, so completion cannot change it.",
                    "parameters": [document_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["certificates"],
                        "properties": {
                            "certificates": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"},
                                             "description": "DER certificates, the signer's first"},
                            "level": {"type": "string", "enum": ["B-B", "B-T", "B-LT", "B-LTA"],
                                      "description": "B-LTA by default when a timestamp service is configured, "
                                                     "otherwise B-B; completion adds the validation data of "
                                                     "B-LT and the document timestamp of B-LTA"},
                            "role": {"type": "string", "description": "signing role; default: the next required role"},
                            "reason": {"type": "string", "maxLength": 200},
                            "location": {"type": "string", "maxLength": 200},
                            "visible": {"type": "boolean", "description": "draw a Bengali stamp (name, designation, "
                                        "office, the preparation's date in both calendars); default false"},
                            "page": {"type": "integer", "minimum": 1, "description": "stamp page; default the last"},
                            "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                                    "description": "stamp rectangle [x1, y1, x2, y2] in PDF points; "
                                                   "default: free space below the content"},
                        },
                    }}}},
                    "responses": {
                        "201": {"description": "prepared", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "handle": {"type": "string"},
                                "signed_attributes": {"type": "string", "contentEncoding": "base64"},
                                "digest_algorithm": {"type": "string"},
                                "signature_mechanism": {"type": "string"},
                                "expires_at": {"type": "string", "format": "date-time"},
                            },
                        }}}},
                        **_problem_responses(401, 403, 404, 409, 422, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/signatures/complete": {
                "post": {
                    "summary": "Complete a prepared signature with the signature value made on the token",
                    "description": _roles("document:sign"),
                    "parameters": [document_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["handle", "signature_value"],
                        "properties": {
                            "handle": {"type": "string"},
                            "signature_value": {"type": "string", "contentEncoding": "base64"},
                            "certificates": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
                        },
                    }}}},
                    "responses": {
                        "201": {"description": "signed and stored as a new revision",
                                "content": {"application/json": {"schema": {"type": "object"}}}},
                        **_problem_responses(401, 403, 404, 409, 422, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/signers/{role}": {
                "put": {
                    "summary": "Change the officer who holds a signing role that is not signed yet",
                    "description": _roles("document:assign-signer")
                    + " An officer may change the holders of documents they uploaded only; others get 403"
                    " signer_change_forbidden. A role already signed gets 409 signature_role_taken. The change"
                    " is recorded in the audit log (document.signer_change).",
                    "parameters": [document_id, {"name": "role", "in": "path", "required": True,
                                                 "schema": {"type": "string"},
                                                 "description": "a role of the document's kind, e.g. chair"}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["user"],
                        "properties": {"user": {"type": "string", "description": "username of an active officer"}},
                    }}}},
                    "responses": {
                        "200": {"description": "the document",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                        **_problem_responses(401, 403, 404, 409, 422, 503),
                    },
                },
            },
            "/documents/{document_id}/legal-hold": {
                "put": {
                    "summary": "Place or release the legal hold on every stored version",
                    "description": _roles("document:legal-hold")
                    + " While held, the object store refuses to delete any version, whatever its retention.",
                    "parameters": [document_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["hold"],
                        "properties": {"hold": {"type": "boolean"}, "reason": {"type": "string", "maxLength": 500}},
                    }}}},
                    "responses": {
                        "200": {"description": "the document",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}},
                        **_problem_responses(401, 403, 404, 422, 503),
                    },
                },
            },
            "/documents/{document_id}/content": {
                "get": {
                    "summary": "The current revision's PDF, verified on retrieval",
                    "description": _roles("document:read")
                    + " A fixity mismatch is never served: it gets a 500 problem with code fixity_mismatch.",
                    "parameters": [document_id],
                    "responses": {
                        "200": {
                            "description": "the PDF",
                            "headers": {
                                name: {"description": header_descriptions[key], "schema": {"type": "string"}}
                                for key, name in VERIFICATION_HEADERS.items()
                            },
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        **_problem_responses(401, 403, 404, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/export": {
                "get": {
                    "summary": "The document as a BagIt package (RFC 8493), zipped",
                    "description": _roles("document:export")
                    + " The zip holds one directory, dolil-{document_id}, with a BagIt 1.0 bag: every revision's PDF"
                    " under data/revisions/, data/document.json, data/verifications.json (the stored validation"
                    " reports) and data/audit-events.json, SHA-256 manifests and bag-info.txt with"
                    " Source-Organization, Bagging-Date and External-Identifier (the document id)."
                    " Every revision is checked against its recorded SHA-256 first; a mismatch gets a 500 problem"
                    " with code fixity_mismatch and nothing is exported. The export is recorded in the audit log.",
                    "parameters": [document_id],
                    "responses": {
                        "200": {"description": "the zipped bag",
                                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                        **_problem_responses(401, 403, 404, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/verification": {
                "get": {
                    "summary": "A fresh fixity check and validation report",
                    "description": _roles("document:verify") + PDF_REPORT_NOTE,
                    "parameters": [document_id, report_format],
                    "responses": {
                        "200": {"description": "the report",
                                "headers": {"Content-Disposition": pdf_disposition},
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Verification"}},
                                    "application/pdf": pdf_content,
                                }},
                        **_problem_responses(401, 403, 404, 422, 500, 503),
                    },
                },
            },
            "/documents/{document_id}/revisions/{number}/validation-data": {
                "get": {
                    "summary": "The certificates, CRLs and OCSP responses used when a revision was validated at archive time",
                    "description": _roles("document:validation-data")
                    + " A JSON bundle (format dolil-validation-data, version 1) with each item as base64 DER, "
                      "checked against its recorded SHA-256 before it is served. Revisions signed or renewed in "
                      "the archive have one; uploads do not (404 validation_data_not_found).",
                    "parameters": [document_id,
                                   {"name": "number", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {
                        "200": {
                            "description": "the bundle",
                            "headers": {
                                VERIFICATION_HEADERS[key]: {"description": header_descriptions[key],
                                                            "schema": {"type": "string"}}
                                for key in ("fixity", "sha256", "revision")
                            },
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationData"}}},
                        },
                        **_problem_responses(401, 403, 404, 500, 503),
                    },
                },
            },
            "/verifications": {
                "post": {
                    "summary": "Validate any PDF; nothing is archived",
                    "description": _roles("verification:create") + PDF_REPORT_NOTE,
                    "parameters": [report_format],
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }}},
                    },
                    "responses": {
                        "200": {"description": "the validation report of the uploaded bytes",
                                "headers": {"Content-Disposition": pdf_disposition},
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Verification"}},
                                    "application/pdf": pdf_content,
                                }},
                        **_problem_responses(401, 403, 413, 415, 422),
                    },
                },
            },
            "/audit-events": {
                "get": {
                    "summary": "The audit log, newest first",
                    "description": _roles("audit:read") + " Each event's hash covers the previous event's hash.",
                    "parameters": [
                        {"name": name, "in": "query", "schema": {"type": "string"}}
                        for name in ("document_id", "action", "outcome", "actor", "since", "until")
                    ] + [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                        {"name": "before", "in": "query", "schema": {"type": "integer"},
                         "description": "next_before of the previous page"},
                    ],
                    "responses": {
                        "200": {"description": "a page of events", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                           "next_before": {"type": ["integer", "null"]}},
                        }}}},
                        **_problem_responses(401, 403, 422),
                    },
                },
            },
            "/openapi.json": {
                "get": {"summary": "This description", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}},
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
            "responses": responses,
        },
    }


@bp.get("/openapi.json")
@public
def openapi() -> dict:
    return build_openapi()
