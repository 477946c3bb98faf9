"""The sync contract as an OpenAPI 3.1 document, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from ..vocab import DIFFICULTY_KINDS, GENDERS
from .contract import (
    ASSIST_KEYS,
    DIFFICULTY_KEYS,
    ERASED_CURSOR,
    ERASED_KEYS,
    ERASED_PAGE,
    MAX_ATTEMPTS,
    MAX_NOTE,
    MAX_TEXT,
    PAGE_SIZE,
)
from .outbox import MAX_COUNT as MAX_REPORT_COUNT


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _since(cursor: str, description: str) -> dict[str, Any]:
    """The optional `since` query parameter of a paged answer: a cursor matching `cursor`."""
    schema = {"type": "string", "maxLength": 40, "pattern": f"^({cursor})?$"}
    return {
        "name": "since",
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable key, e.g. used, expired."},
            "message": {"type": "string", "description": "For the member, in Vietnamese."},
        },
    },
    "Member": {
        "type": "object",
        "required": ["id", "name", "unit_id", "role"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "unit_id": NULLABLE_INT,
            "role": {"type": "string"},
        },
    },
    "Campaign": {
        "type": ["object", "null"],
        "description": "The ward's current campaign; null when none is active.",
        "required": ["id", "name", "starts_on", "ends_on", "steps", "categories", "consent"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "report_due": {"type": "string", "format": "date"},
            "contest_url": {"type": "string"},
            "retention_until": {
                "type": "string",
                "format": "date",
                "description": "Personal fields are kept until the end of this day, then purged.",
            },
            "after_end": {
                "type": "string",
                "enum": ["count_only", "refuse"],
                "description": "A new entry made after ends_on: stored and counted without"
                " personal fields (count_only), or answered invalid (refuse). Optional for"
                " older servers: count_only.",
            },
            "steps": {"type": "array", "items": _ref("KeyLabel")},
            "categories": {"type": "array", "items": _ref("KeyLabel")},
            "consent": {
                "type": "object",
                "required": ["version", "text"],
                "properties": {"version": {"type": "integer"}, "text": {"type": "string"}},
            },
        },
    },
    "KeyLabel": {
        "type": "object",
        "required": ["key", "label"],
        "properties": {"key": {"type": "string"}, "label": {"type": "string"}},
    },
    "Unit": {
        "type": "object",
        "required": ["id", "name", "kind", "kind_label"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "kind_label": {"type": "string"},
        },
    },
    "Ward": {
        "type": ["object", "null"],
        "required": ["id", "name", "unit_label"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "unit_label": {"type": "string"},
        },
    },
    "Me": {
        "type": "object",
        "required": ["device_id", "member", "campaign", "units", "ward"],
        "properties": {
            "device_id": {"type": "string", "format": "uuid"},
            "member": _ref("Member"),
            "campaign": _ref("Campaign"),
            "units": {"type": "array", "items": _ref("Unit")},
            "ward": _ref("Ward"),
        },
    },
    "Enrolled": {
        "type": "object",
        "required": ["token", "device_id", "member", "campaign", "units", "ward"],
        "properties": {
            "token": {"type": "string", "description": "Send as Authorization: Bearer <token>."},
            "device_id": {"type": "string", "format": "uuid"},
            "member": _ref("Member"),
            "campaign": _ref("Campaign"),
            "units": {"type": "array", "items": _ref("Unit")},
            "ward": _ref("Ward"),
        },
    },
    "AssistData": {
        "type": "object",
        "additionalProperties": False,
        "description": "An unknown key makes the record invalid. Checked lightly on a void.",
        "required": ["full_name", "unit_id", "category", "steps", "consent"],
        "properties": {
            "full_name": {"type": "string", "minLength": 2, "maxLength": 120},
            "birth_year": {"type": ["integer", "null"], "minimum": 1900},
            "gender": {"type": ["string", "null"], "enum": [*GENDERS, None]},
            "phone": {
                "type": ["string", "null"],
                "description": "10 digits starting with 0, or +84; stored normalised.",
            },
            "unit_id": {"type": "integer", "description": "An active residential unit."},
            "category": {"type": "string", "description": "A key of campaign.categories."},
            "steps": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "description": "A key of campaign.steps."},
            },
            "attempts": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_ATTEMPTS,
                "description": "Default 1 when steps has tested (then at least 1), else 0.",
            },
            "consent": {"const": True},
            "consent_version": {
                "type": ["integer", "null"],
                "description": "The version of campaign.consent the phone showed (offline: the "
                "one of its last sync); a version the campaign never had makes the record "
                "invalid. Absent (older phones): the campaign's current version is recorded. "
                "Only the first revision's version is kept.",
            },
            "note": {"type": ["string", "null"], "maxLength": MAX_NOTE},
        },
    },
    "DifficultyData": {
        "type": "object",
        "additionalProperties": False,
        "required": ["unit_id", "kind"],
        "properties": {
            "unit_id": {"type": "integer"},
            "kind": {"type": "string", "enum": list(DIFFICULTY_KINDS)},
            "text": {"type": ["string", "null"], "maxLength": MAX_TEXT},
        },
    },
    "Record": {
        "type": "object",
        "required": ["id", "rev", "type", "recorded_at", "data"],
        "description": "Unknown top-level keys are ignored.",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "rev": {"type": "integer", "minimum": 1},
            "type": {"type": "string", "enum": ["assist", "difficulty"]},
            "recorded_at": {
                "type": "string",
                "format": "date-time",
                "description": "ISO 8601 with an offset (the device's clock).",
            },
            "voided": {"type": "boolean", "default": False},
            "data": {"type": "object", "description": "AssistData or DifficultyData by type."},
        },
    },
    "SyncRequest": {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "maxItems": 200,
                # Any value is taken: one that is not a Record is answered "invalid" in its own
                # result (by contract no whole-batch 4xx for a bad record).
                "items": {"anyOf": [_ref("Record"), {}]},
                "description": "Records; anything else in the list is answered invalid.",
            }
        },
    },
    "Result": {
        "type": "object",
        "required": ["id", "rev", "status"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "rev": {"type": ["integer", "string", "null"]},
            "status": {"type": "string", "enum": ["stored", "unchanged", "stale", "invalid"]},
            "server_rev": {"type": "integer", "description": "With stale."},
            "errors": {
                "type": "object",
                "description": 'With invalid: field ("data.full_name") to Vietnamese message.',
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "SyncAnswer": {
        "type": "object",
        "required": ["server_time", "results"],
        "properties": {
            "server_time": {"type": "string", "format": "date-time"},
            "results": {"type": "array", "items": _ref("Result")},
        },
    },
    "StoredRecord": {
        "type": "object",
        "required": ["id", "rev", "type", "recorded_at", "received_at", "voided", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "rev": {"type": "integer"},
            "type": {"type": "string", "enum": ["assist", "difficulty"]},
            "recorded_at": {"type": "string", "format": "date-time"},
            "received_at": {"type": "string", "format": "date-time"},
            "voided": {"type": "boolean"},
            "data": {
                "type": "object",
                "description": "Every contract key of the type (null when absent or erased).",
            },
        },
    },
    "RecordsPage": {
        "type": "object",
        "required": ["records", "next"],
        "properties": {
            "records": {"type": "array", "maxItems": PAGE_SIZE, "items": _ref("StoredRecord")},
            "next": {"type": ["string", "null"], "description": "Pass as since; null at the end."},
        },
    },
}

BEARER = [{"device": []}]
UNAUTHORIZED = _error("Missing, unknown or revoked device token.")
RATE_LIMITED = {
    **_error("Too many requests."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
}

UNAVAILABLE = {
    **_error("The database is unreachable or every sync slot busy: send again after Retry-After."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fieldapp sync API",
            "version": "1",
            "description": "The contract between the member's phone and the ward's server "
            "(shared/design/sync-protocol.md). Keys known inside data: assist "
            f"{sorted(ASSIST_KEYS)}, difficulty {sorted(DIFFICULTY_KEYS)}.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/devices": {
                "post": {
                    "operationId": "enrolDevice",
                    "summary": "Enrol a phone with a one-time code (20 per minute per address).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["code"],
                                    "properties": {
                                        "code": {
                                            "type": "string",
                                            "minLength": 16,
                                            "maxLength": 128,
                                            "pattern": "^[A-Za-z0-9_-]{16,128}$",
                                            "description": "The one-time code of the QR.",
                                        },
                                        "label": {"type": "string", "maxLength": 80},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("Enrolled"), "The device is enrolled."),
                        "400": _error("Unknown, used or expired code, or a disabled account."),
                        "413": _error("Body too large."),
                        "415": _error("Not JSON."),
                        "429": RATE_LIMITED,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/me": {
                "get": {
                    "operationId": "me",
                    "summary": "The member, campaign, units and ward, refreshed.",
                    "security": BEARER,
                    "responses": {
                        "200": _json(_ref("Me"), "What the phone should know."),
                        "401": UNAUTHORIZED,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/sync": {
                "post": {
                    "operationId": "sync",
                    "summary": "Send a batch of records; one answer per record.",
                    "description": "Content-Encoding: gzip is accepted. At most 200 records "
                    "and 512 KiB after decompression. Safe to repeat.",
                    "security": BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SyncRequest")}},
                    },
                    "responses": {
                        "200": _json(_ref("SyncAnswer"), "One result per record, in order."),
                        "400": _error(
                            "Not a JSON object with a records list, or a bad outbox report "
                            "(nothing of the request is stored)."
                        ),
                        "401": UNAUTHORIZED,
                        "413": _error("More than 200 records or 512 KiB."),
                        "415": _error("Not application/json, or an encoding other than gzip."),
                        "429": RATE_LIMITED,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/outbox": OUTBOX_PATH,
            "/records": {
                "get": {
                    "operationId": "records",
                    "summary": "The member's own records, newest revision each, by pages.",
                    "security": BEARER,
                    "parameters": [
                        _since(
                            "v1\\.[0-9]{1,15}\\.[0-9]{1,15}",
                            "The next cursor of the previous page (empty: the first page).",
                        )
                    ],
                    "responses": {
                        "200": _json(_ref("RecordsPage"), "A page of records."),
                        "400": _error("A cursor this server did not give."),
                        "401": UNAUTHORIZED,
                        "429": RATE_LIMITED,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/erased": ERASED_PATH,
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {"200": {"description": "OpenAPI 3.1 JSON."}},
                }
            },
        },
    }


# --- the outbox report: an optional addition to v1 (fieldapp/sync/outbox.py) ------------------

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS["OutboxReport"] = {
    "type": "object",
    "additionalProperties": False,
    "description": "What the phone holds, for the ward office. Optional: a phone that sends "
    "none keeps working. A bad report refuses the whole request (400).",
    "required": ["v"],
    "properties": {
        "v": {"const": 1, "description": "The report's version."},
        "waiting": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_REPORT_COUNT,
            "default": 0,
            "description": "Entries waiting to be sent, not counting this request's records.",
        },
        "oldest_waiting_at": {
            **_NULLABLE_TIME,
            "description": "When the oldest of those was saved (null when none waits).",
        },
        "needs_fix": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_REPORT_COUNT,
            "default": 0,
            "description": "Entries the server answered invalid and the member has not fixed.",
        },
        "app_version": {
            "type": "string",
            "maxLength": 40,
            "pattern": "^[A-Za-z0-9._+-]*$",
            "default": "",
        },
        "storage_persisted": {
            "type": ["boolean", "null"],
            "description": "navigator.storage.persisted(); null when the browser cannot tell.",
        },
        "last_sent_at": {**_NULLABLE_TIME, "description": "The phone's last successful send."},
    },
}
SCHEMAS["SyncRequest"]["properties"]["outbox"] = _ref("OutboxReport")
OUTBOX_PATH = {
    "post": {
        "operationId": "outbox",
        "summary": "The phone's outbox report alone (nothing to send, or its send failed).",
        "security": BEARER,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["outbox"],
                        "properties": {"outbox": _ref("OutboxReport")},
                    }
                }
            },
        },
        "responses": {
            "200": _json(
                {
                    "type": "object",
                    "required": ["server_time"],
                    "properties": {"server_time": {"type": "string", "format": "date-time"}},
                },
                "The report is stored.",
            ),
            "400": _error("Not a JSON object with an outbox, or a bad report (nothing stored)."),
            "401": UNAUTHORIZED,
            "413": _error("Body over 4 KiB."),
            "415": _error("Not application/json, or an encoding other than gzip."),
            "429": RATE_LIMITED,
        },
    }
}

# --- the member's group against its target: optional in /me (fieldapp/sync/progress.py) -------

SCHEMAS["GroupStanding"] = {
    "type": ["object", "null"],
    "description": "The member's residential group in the current campaign; null without one.",
    "required": ["unit_id", "name", "residents", "completed", "target", "line", "as_of"],
    "properties": {
        "unit_id": {"type": "integer"},
        "name": {"type": "string"},
        "residents": {"type": "integer", "description": "Residents helped."},
        "completed": {"type": "integer", "description": "People who completed the test."},
        "target": NULLABLE_INT,
        "line": {"type": "string", "description": 'For the screen, e.g. "Tổ 3: 61/95".'},
        "as_of": {"type": "string", "format": "date-time", "description": "The figures' time."},
    },
}
SCHEMAS["Me"]["properties"]["group"] = _ref("GroupStanding")

# --- erasure notices to phones: an optional addition to v1 (contract.erased_page) --------------

SCHEMAS["ErasedPage"] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ids", "fields", "next", "more"],
    "properties": {
        "ids": {
            "type": "array",
            "maxItems": ERASED_PAGE,
            "items": {"type": "string", "format": "uuid"},
            "description": "The member's own assists whose personal fields the server erased "
            "(on request, by the purge after the retention date, or stored so on arrival). "
            "The phone drops `fields` from its copy of each, keeps everything else (its counts "
            "stay), and still sends a revision that waits (the server keeps it erased). "
            "An id may be listed again; applying it twice changes nothing.",
        },
        "fields": {
            "type": "array",
            "items": {"type": "string", "enum": list(ERASED_KEYS)},
            "description": "The keys of AssistData an erasure clears.",
        },
        "next": {
            "type": "string",
            "maxLength": 40,
            "description": "Keep it and pass it as since next time (the phone's own cursor, "
            "so a phone offline for days hears of every erasure when it returns).",
        },
        "more": {"type": "boolean", "description": "More ids wait: ask again with next now."},
    },
}
ERASED_PATH = {
    "get": {
        "operationId": "erased",
        "summary": "Which of the member's records were erased since the phone's cursor.",
        "description": "Optional: an older phone that never asks keeps working (its copies "
        "stay as they were). Asked after each contact with the server.",
        "security": BEARER,
        "parameters": [
            _since(
                ERASED_CURSOR, "The next of the previous answer (empty or absent: from the start)."
            )
        ],
        "responses": {
            "200": _json(_ref("ErasedPage"), "The ids erased since the cursor."),
            "400": _error("A cursor this server did not give."),
            "401": UNAUTHORIZED,
            "429": RATE_LIMITED,
            "503": UNAVAILABLE,
        },
    }
}
