"""JSON Schemas of Open311 GeoReport v2 answers (JSON format), written from the spec
(open311.github.io GeoReport/v2 and its extensions; /work/shared/notes digest).

The JSON format is the spec's mechanical mapping of its XML: lists are top-level
arrays; every field the spec lists for a resource is present; datetimes are
W3C datetimes with a zone.
"""

from __future__ import annotations

from typing import Any

W3C = {"type": "string",
       "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$"}
W3C_OR_EMPTY = {"anyOf": [W3C, {"const": ""}]}
TEXT = {"type": "string"}


def _object(properties: dict[str, Any], required: list[str] | None = None,
            extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": required if required is not None else list(properties),
            "additionalProperties": extra}


ERRORS = {"type": "array", "minItems": 1, "items": _object(
    {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}})}

DISCOVERY = _object({
    "changeset": W3C, "contact": TEXT, "key_service": TEXT,
    "endpoints": {"type": "array", "minItems": 1, "items": _object({
        "specification": TEXT, "url": TEXT, "changeset": W3C,
        "type": {"enum": ["production", "test"]},
        "formats": {"type": "array", "items": TEXT, "minItems": 1}})}})

SERVICES = {"type": "array", "minItems": 1, "items": _object({
    "service_code": {"type": "string", "minLength": 1},
    "service_name": {"type": "string", "minLength": 1},
    "description": TEXT, "metadata": {"type": "boolean"},
    "type": {"enum": ["realtime", "batch", "blackbox"]},
    "keywords": TEXT, "group": TEXT})}

SERVICE_DEFINITION = _object({
    "service_code": {"type": "string", "minLength": 1},
    "attributes": {"type": "array", "items": _object({
        "variable": {"type": "boolean"}, "code": {"type": "string", "minLength": 1},
        "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist",
                              "multivaluelist"]},
        "required": {"type": "boolean"}, "datatype_description": TEXT,
        "order": {"type": "integer", "minimum": 1}, "description": TEXT,
        "values": {"type": "array", "items": _object({"key": TEXT, "name": TEXT})}})}})

POST_ANSWER = {"type": "array", "minItems": 1, "maxItems": 1, "items": {
    "type": "object",
    "properties": {"service_request_id": {"type": "string", "minLength": 1},
                   "token": {"type": "string", "minLength": 1},
                   "service_notice": TEXT, "account_id": TEXT},
    # an id or a token, never both
    "oneOf": [{"required": ["service_request_id"], "not": {"required": ["token"]}},
              {"required": ["token"], "not": {"required": ["service_request_id"]}}],
    "additionalProperties": False}}

_REQUEST_FIELDS: dict[str, Any] = {
    "service_request_id": {"type": "string", "minLength": 1},
    "status": {"enum": ["open", "closed"]},
    "status_notes": TEXT, "service_name": TEXT, "service_code": TEXT, "description": TEXT,
    "agency_responsible": TEXT, "service_notice": TEXT,
    "requested_datetime": W3C, "updated_datetime": W3C, "expected_datetime": W3C_OR_EMPTY,
    "address": TEXT, "address_id": TEXT, "zipcode": TEXT,
    "lat": {"type": "string", "pattern": r"^(-?\d+(\.\d+)?)?$"},
    "long": {"type": "string", "pattern": r"^(-?\d+(\.\d+)?)?$"},
    "media_url": TEXT,
}
REQUEST = _object(_REQUEST_FIELDS)
REQUEST_EXTENDED = _object({
    **_REQUEST_FIELDS,
    "extended_attributes": {"type": "object", "required": ["detailed_status"],
                            "properties": {"detailed_status": {"type": "string",
                                                               "minLength": 1}}},
    "notes": {"type": "array", "items": {"type": "object", "required": ["datetime"],
                                         "properties": {"datetime": W3C}}}})
REQUESTS = {"type": "array", "items": REQUEST}
REQUESTS_EXTENDED = {"type": "array", "items": REQUEST_EXTENDED}

UPDATES = {"type": "array", "items": _object({
    "update_id": {"type": "string", "pattern": r"^\d+$"},
    "service_request_id": {"type": "string", "minLength": 1},
    "status": {"enum": ["open", "investigating", "in_progress", "action_scheduled",
                        "planned", "fixed", "duplicate", "not_councils_responsibility",
                        "no_further_action", "internal_referral", "cancelled", "reopen",
                        "for_triage", "closed"]},
    "updated_datetime": W3C, "description": TEXT, "media_url": TEXT,
    "external_status_code": TEXT})}
