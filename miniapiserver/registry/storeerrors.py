"""Storage errors -> API Status errors.

Mirrors k8s.io/apiserver/pkg/storage/errors/storage.go (InterpretGetError,
InterpretCreateError, InterpretUpdateError, InterpretDeleteError,
InterpretListError, InterpretWatchError) and the Timeout/ResourceVersionTooLarge
mapping of storage.NewTooLargeResourceVersionError.
"""

from __future__ import annotations

import msgspec

from miniapi import errors
from miniapi.meta.v1 import StatusCause, StatusDetails
from miniapi.runtime import GroupResource
from miniapiserver.storage import errors as serrors


def interpret(err: serrors.StorageError, gr: GroupResource, name: str) -> errors.StatusError:
    code = err.code
    if code == serrors.ERR_KEY_NOT_FOUND:
        return errors.new_not_found(gr, name)
    if code == serrors.ERR_KEY_EXISTS:
        return errors.new_already_exists(gr, name)
    if code == serrors.ERR_RESOURCE_VERSION_CONFLICTS:
        return errors.new_conflict(gr, name, errors.OPTIMISTIC_LOCK_ERROR_MSG)
    if code == serrors.ERR_INVALID_OBJ:
        return errors.new_conflict(gr, name, err.message)
    if code == serrors.ERR_EXPIRED:
        return errors.new_resource_expired(err.message)
    if code == serrors.ERR_BAD_REQUEST:
        return errors.new_bad_request(err.message)
    if code == serrors.ERR_TOO_LARGE_RESOURCE_VERSION:
        status = errors.new_timeout(err.message, 1).status
        cause = StatusCause(type="ResourceVersionTooLarge", message="Too large resource version")
        details = StatusDetails(causes=[cause], retry_after_seconds=1)
        return errors.from_status(msgspec.structs.replace(status, details=details))
    return errors.new_internal_error(err.message)
