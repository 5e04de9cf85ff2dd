"""Storage-layer errors, before the registry turns them into API Status errors.

Mirrors k8s.io/apiserver/pkg/storage/errors.go (StorageError with its codes,
NewKeyNotFoundError, NewKeyExistsError, NewResourceVersionConflictsError,
NewTooLargeResourceVersionError) and the "too old" cases that etcd3 turns into
410 Gone. Omitted: InternalError's wrapping of transformer failures.
"""

from __future__ import annotations

from dataclasses import dataclass

ERR_KEY_NOT_FOUND = 1
ERR_KEY_EXISTS = 2
ERR_RESOURCE_VERSION_CONFLICTS = 3
ERR_INVALID_OBJ = 4
ERR_UNREACHABLE = 5
ERR_TOO_LARGE_RESOURCE_VERSION = 6
ERR_EXPIRED = 7  # compacted: a watch or continue token behind the compaction revision
ERR_BAD_REQUEST = 8  # a malformed continue token or resourceVersion


@dataclass
class StorageError(Exception):
    """One failed storage operation; key and revision say where."""

    code: int
    key: str
    message: str = ""
    resource_version: int = 0

    def __str__(self) -> str:
        return self.message or f"storage error {self.code} on {self.key}"


def key_not_found(key: str, rv: int = 0) -> StorageError:
    return StorageError(ERR_KEY_NOT_FOUND, key, f"Key not found: {key}", rv)


def key_exists(key: str, rv: int = 0) -> StorageError:
    return StorageError(ERR_KEY_EXISTS, key, f"Key exists: {key}", rv)


def resource_version_conflicts(key: str, rv: int) -> StorageError:
    msg = (
        "the object has been modified; please apply your changes "
        "to the latest version and try again"
    )
    return StorageError(ERR_RESOURCE_VERSION_CONFLICTS, key, msg, rv)


def too_large_resource_version(minimum: int, current: int) -> StorageError:
    msg = f"Too large resource version: {minimum}, current: {current}"
    return StorageError(ERR_TOO_LARGE_RESOURCE_VERSION, "", msg, current)


def too_old_resource_version(requested: int, oldest: int) -> StorageError:
    msg = f"too old resource version: {requested} ({oldest})"
    return StorageError(ERR_EXPIRED, "", msg, oldest)


CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token "
    "in this response to retrieve the remainder of the results. Continuing with the "
    "provided token results in an inconsistent list - objects that were created, modified, "
    "or deleted between the time the first chunk was returned and now may show up in the list."
)


def continue_expired(key: str) -> StorageError:
    return StorageError(ERR_EXPIRED, key, CONTINUE_EXPIRED)


def bad_request(message: str) -> StorageError:
    return StorageError(ERR_BAD_REQUEST, "", message)


def invalid_obj(key: str, message: str) -> StorageError:
    return StorageError(ERR_INVALID_OBJ, key, message)
