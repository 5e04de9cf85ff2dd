"""API errors: StatusError carrying a meta/v1 Status, and its constructors.

Mirrors k8s.io/apimachinery/pkg/api/errors/errors.go: the same codes,
reasons, details and message texts (`pods "x" not found`, `Operation cannot
be fulfilled on ...`), and the predicates is_not_found, is_conflict, ...
The API server raises these and writes `err.status` as the response body;
clients rebuild them from a Status with from_status.
Omitted: NewGenericServerResponse's per-code guesses, suggestsClientDelay.
"""

from __future__ import annotations

from miniapi.meta.v1 import (
    REASON_ALREADY_EXISTS,
    REASON_BAD_REQUEST,
    REASON_CONFLICT,
    REASON_EXPIRED,
    REASON_FORBIDDEN,
    REASON_GONE,
    REASON_INTERNAL_ERROR,
    REASON_INVALID,
    REASON_METHOD_NOT_ALLOWED,
    REASON_NOT_ACCEPTABLE,
    REASON_NOT_FOUND,
    REASON_REQUEST_ENTITY_TOO_LARGE,
    REASON_SERVER_TIMEOUT,
    REASON_SERVICE_UNAVAILABLE,
    REASON_TIMEOUT,
    REASON_TOO_MANY_REQUESTS,
    REASON_UNAUTHORIZED,
    REASON_UNSUPPORTED_MEDIA_TYPE,
    STATUS_FAILURE,
    Status,
    StatusCause,
    StatusDetails,
)
from miniapi.runtime import GroupResource
from miniapi.validation.field import ErrorList, to_aggregate

__all__ = [
    "StatusError",
    "OPTIMISTIC_LOCK_ERROR_MSG",
    "from_status",
    "new_already_exists",
    "new_bad_request",
    "new_conflict",
    "new_forbidden",
    "new_generate_name_conflict",
    "new_gone",
    "new_internal_error",
    "new_invalid",
    "new_method_not_supported",
    "new_not_acceptable",
    "new_not_found",
    "new_request_entity_too_large",
    "new_resource_expired",
    "new_server_timeout",
    "new_service_unavailable",
    "new_timeout",
    "new_too_many_requests",
    "new_too_many_requests_error",
    "new_unauthorized",
    "new_unsupported_media_type",
    "reason_for_error",
    "is_already_exists",
    "is_bad_request",
    "is_conflict",
    "is_forbidden",
    "is_gone",
    "is_invalid",
    "is_not_found",
    "is_resource_expired",
    "is_too_many_requests",
]

# The text of the conflict an update with a stale resourceVersion gets
# (k8s.io/apiserver/pkg/registry/generic/registry: OptimisticLockErrorMsg).
OPTIMISTIC_LOCK_ERROR_MSG = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class StatusError(Exception):
    """An error that is a Status: str(err) is the message, err.status the body."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status

    @property
    def code(self) -> int:
        return self.status.code

    @property
    def reason(self) -> str:
        return self.status.reason


def _failure(
    code: int, reason: str, message: str, details: StatusDetails | None = None
) -> StatusError:
    return StatusError(
        Status(
            api_version="v1",
            kind="Status",
            status=STATUS_FAILURE,
            message=message,
            reason=reason,
            details=details,
            code=code,
        )
    )


def _details(gr: GroupResource, name: str = "", retry: int = 0) -> StatusDetails:
    # Upstream puts the resource (not the kind) into details.kind here.
    return StatusDetails(group=gr.group, kind=gr.resource, name=name, retry_after_seconds=retry)


def from_status(status: Status) -> StatusError:
    """FromObject: rebuild the error a server returned."""
    return StatusError(status)


def new_not_found(gr: GroupResource, name: str) -> StatusError:
    return _failure(404, REASON_NOT_FOUND, f'{gr} "{name}" not found', _details(gr, name))


def new_already_exists(gr: GroupResource, name: str) -> StatusError:
    return _failure(409, REASON_ALREADY_EXISTS, f'{gr} "{name}" already exists', _details(gr, name))


def new_generate_name_conflict(
    gr: GroupResource, name: str, retry_after_seconds: int
) -> StatusError:
    msg = f'{gr} "{name}" already exists, the server was not able to generate a unique name for the object'
    return _failure(409, REASON_ALREADY_EXISTS, msg, _details(gr, name, retry_after_seconds))


def new_unauthorized(reason: str = "") -> StatusError:
    return _failure(401, REASON_UNAUTHORIZED, reason or "not authorized")


def new_forbidden(gr: GroupResource, name: str, err: str | Exception) -> StatusError:
    if not gr.group and not gr.resource:
        msg = f"forbidden: {err}"
    elif not name:
        msg = f"{gr} is forbidden: {err}"
    else:
        msg = f'{gr} "{name}" is forbidden: {err}'
    return _failure(403, REASON_FORBIDDEN, msg, _details(gr, name))


def new_conflict(gr: GroupResource, name: str, err: str | Exception) -> StatusError:
    msg = f'Operation cannot be fulfilled on {gr} "{name}": {err}'
    return _failure(409, REASON_CONFLICT, msg, _details(gr, name))


def new_gone(message: str) -> StatusError:
    return _failure(410, REASON_GONE, message)


def new_resource_expired(message: str) -> StatusError:
    return _failure(410, REASON_EXPIRED, message)


def new_invalid(group: str, kind: str, name: str, errs: ErrorList) -> StatusError:
    """422 Invalid: one cause per field error, message aggregating them."""
    causes = [StatusCause(type=e.type, message=e.error_body(), field=e.field) for e in errs]
    qualified = f"{kind}.{group}" if group else kind
    agg = to_aggregate(errs)
    msg = f'{qualified} "{name}" is invalid' + (f": {agg}" if agg else "")
    details = StatusDetails(group=group, kind=kind, name=name, causes=causes)
    return _failure(422, REASON_INVALID, msg, details)


def new_bad_request(reason: str) -> StatusError:
    return _failure(400, REASON_BAD_REQUEST, reason)


def new_too_many_requests(message: str, retry_after_seconds: int) -> StatusError:
    return _failure(
        429,
        REASON_TOO_MANY_REQUESTS,
        message,
        StatusDetails(retry_after_seconds=retry_after_seconds),
    )


def new_too_many_requests_error(message: str) -> StatusError:
    return _failure(429, REASON_TOO_MANY_REQUESTS, f"Too many requests: {message}")


def new_service_unavailable(reason: str) -> StatusError:
    return _failure(503, REASON_SERVICE_UNAVAILABLE, reason)


def new_method_not_supported(gr: GroupResource, action: str) -> StatusError:
    msg = f'{action} is not supported on resources of kind "{gr}"'
    return _failure(
        405, REASON_METHOD_NOT_ALLOWED, msg, StatusDetails(group=gr.group, kind=gr.resource)
    )


def new_server_timeout(gr: GroupResource, operation: str, retry_after_seconds: int) -> StatusError:
    msg = f"The {operation} operation against {gr} could not be completed at this time, please try again."
    return _failure(500, REASON_SERVER_TIMEOUT, msg, _details(gr, operation, retry_after_seconds))


def new_internal_error(err: str | Exception) -> StatusError:
    details = StatusDetails(causes=[StatusCause(message=str(err))])
    return _failure(500, REASON_INTERNAL_ERROR, f"Internal error occurred: {err}", details)


def new_timeout(message: str, retry_after_seconds: int) -> StatusError:
    details = StatusDetails(retry_after_seconds=retry_after_seconds)
    return _failure(504, REASON_TIMEOUT, f"Timeout: {message}", details)


def new_request_entity_too_large(message: str) -> StatusError:
    return _failure(413, REASON_REQUEST_ENTITY_TOO_LARGE, f"Request entity too large: {message}")


def new_unsupported_media_type(accepted: list[str]) -> StatusError:
    """k8s.io/apiserver/pkg/endpoints/handlers/negotiation errUnsupportedMediaType."""
    msg = "the body of the request was in an unknown format - accepted media types include: "
    return _failure(415, REASON_UNSUPPORTED_MEDIA_TYPE, msg + ", ".join(accepted))


def new_not_acceptable(accepted: list[str]) -> StatusError:
    """negotiation errNotAcceptable: the Accept header names no type the server produces."""
    msg = "only the following media types are accepted: " + ", ".join(accepted)
    return _failure(406, REASON_NOT_ACCEPTABLE, msg)


def reason_for_error(err: BaseException) -> str:
    """ReasonForError: the Status reason of a StatusError, else Unknown ("")."""
    return err.status.reason if isinstance(err, StatusError) else ""


def _has_reason(err: BaseException, reason: str) -> bool:
    return reason_for_error(err) == reason


def has_status_cause(err: BaseException, cause_type: str) -> bool:
    """HasStatusCause: the error is a Status whose details carry a cause of that type."""
    if not isinstance(err, StatusError) or err.status.details is None:
        return False
    return any(c.type == cause_type for c in err.status.details.causes or [])


def is_not_found(err: BaseException) -> bool:
    return _has_reason(err, REASON_NOT_FOUND)


def is_already_exists(err: BaseException) -> bool:
    return _has_reason(err, REASON_ALREADY_EXISTS)


def is_conflict(err: BaseException) -> bool:
    return _has_reason(err, REASON_CONFLICT)


def is_invalid(err: BaseException) -> bool:
    return _has_reason(err, REASON_INVALID)


def is_gone(err: BaseException) -> bool:
    return _has_reason(err, REASON_GONE)


def is_resource_expired(err: BaseException) -> bool:
    return _has_reason(err, REASON_EXPIRED)


def is_forbidden(err: BaseException) -> bool:
    return _has_reason(err, REASON_FORBIDDEN)


def is_bad_request(err: BaseException) -> bool:
    return _has_reason(err, REASON_BAD_REQUEST)


def is_too_many_requests(err: BaseException) -> bool:
    return _has_reason(err, REASON_TOO_MANY_REQUESTS)
