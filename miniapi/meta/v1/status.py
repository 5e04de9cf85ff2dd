"""Status: the body of every API error (and of a successful DELETE of a collection).

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/types.go (Status, StatusDetails,
StatusCause, StatusReason*, CauseType*). miniapi.errors builds these; the API
server writes them; clients turn them back into StatusError.
Omitted: nothing of the wire shape.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1.types import ListMeta

__all__ = [
    "Status",
    "StatusCause",
    "StatusDetails",
    "STATUS_SUCCESS",
    "STATUS_FAILURE",
    "REASON_UNKNOWN",
    "REASON_UNAUTHORIZED",
    "REASON_FORBIDDEN",
    "REASON_NOT_FOUND",
    "REASON_ALREADY_EXISTS",
    "REASON_CONFLICT",
    "REASON_GONE",
    "REASON_INVALID",
    "REASON_SERVER_TIMEOUT",
    "REASON_STORE_READ_ERROR",
    "REASON_TIMEOUT",
    "REASON_TOO_MANY_REQUESTS",
    "REASON_BAD_REQUEST",
    "REASON_METHOD_NOT_ALLOWED",
    "REASON_NOT_ACCEPTABLE",
    "REASON_REQUEST_ENTITY_TOO_LARGE",
    "REASON_UNSUPPORTED_MEDIA_TYPE",
    "REASON_INTERNAL_ERROR",
    "REASON_EXPIRED",
    "REASON_SERVICE_UNAVAILABLE",
    "CAUSE_TYPE_FIELD_VALUE_NOT_FOUND",
    "CAUSE_TYPE_FIELD_VALUE_REQUIRED",
    "CAUSE_TYPE_FIELD_VALUE_DUPLICATE",
    "CAUSE_TYPE_FIELD_VALUE_INVALID",
    "CAUSE_TYPE_FIELD_VALUE_NOT_SUPPORTED",
    "CAUSE_TYPE_FORBIDDEN",
    "CAUSE_TYPE_TOO_LONG",
    "CAUSE_TYPE_TOO_MANY",
    "CAUSE_TYPE_INTERNAL",
    "CAUSE_TYPE_TYPE_INVALID",
    "CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE",
    "CAUSE_TYPE_FIELD_MANAGER_CONFLICT",
    "CAUSE_TYPE_RESOURCE_VERSION_TOO_LARGE",
]

STATUS_SUCCESS = "Success"
STATUS_FAILURE = "Failure"

REASON_UNKNOWN = ""
REASON_UNAUTHORIZED = "Unauthorized"
REASON_FORBIDDEN = "Forbidden"
REASON_NOT_FOUND = "NotFound"
REASON_ALREADY_EXISTS = "AlreadyExists"
REASON_CONFLICT = "Conflict"
REASON_GONE = "Gone"
REASON_INVALID = "Invalid"
REASON_SERVER_TIMEOUT = "ServerTimeout"
REASON_STORE_READ_ERROR = "StorageReadError"
REASON_TIMEOUT = "Timeout"
REASON_TOO_MANY_REQUESTS = "TooManyRequests"
REASON_BAD_REQUEST = "BadRequest"
REASON_METHOD_NOT_ALLOWED = "MethodNotAllowed"
REASON_NOT_ACCEPTABLE = "NotAcceptable"
REASON_REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
REASON_UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
REASON_INTERNAL_ERROR = "InternalError"
REASON_EXPIRED = "Expired"
REASON_SERVICE_UNAVAILABLE = "ServiceUnavailable"

CAUSE_TYPE_FIELD_VALUE_NOT_FOUND = "FieldValueNotFound"
CAUSE_TYPE_FIELD_VALUE_REQUIRED = "FieldValueRequired"
CAUSE_TYPE_FIELD_VALUE_DUPLICATE = "FieldValueDuplicate"
CAUSE_TYPE_FIELD_VALUE_INVALID = "FieldValueInvalid"
CAUSE_TYPE_FIELD_VALUE_NOT_SUPPORTED = "FieldValueNotSupported"
CAUSE_TYPE_FORBIDDEN = "FieldValueForbidden"
CAUSE_TYPE_TOO_LONG = "FieldValueTooLong"
CAUSE_TYPE_TOO_MANY = "FieldValueTooMany"
CAUSE_TYPE_INTERNAL = "InternalError"
CAUSE_TYPE_TYPE_INVALID = "FieldValueTypeInvalid"
CAUSE_TYPE_UNEXPECTED_SERVER_RESPONSE = "UnexpectedServerResponse"
CAUSE_TYPE_FIELD_MANAGER_CONFLICT = "FieldManagerConflict"
CAUSE_TYPE_RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"


class StatusCause(Struct, frozen=True, kw_only=True):
    """One reason an operation failed, usually naming the offending field."""

    type: str = field(default="", name="reason")
    message: str = ""
    field: str = ""


class StatusDetails(Struct, frozen=True, kw_only=True):
    """Which object the Status is about (name, group, kind, uid) and its causes."""

    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: list[StatusCause] = []
    retry_after_seconds: int = 0


class Status(Struct, frozen=True, kw_only=True):
    """The result of an operation that did not return an object."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    status: str = ""
    message: str = ""
    reason: str = ""
    details: StatusDetails | None = None
    code: int = 0
