"""Continue tokens for paged LISTs.

Mirrors k8s.io/apiserver/pkg/storage/continue.go (EncodeContinue,
DecodeContinue): a raw URL-safe base64 of JSON {"v": "meta.k8s.io/v1",
"rv": <list revision>, "start": <key after the last returned, relative to the
resource prefix>}. The revision pins every page of one LIST to one snapshot.
"""

from __future__ import annotations

import base64
import json
import posixpath

from miniapiserver.storage.errors import StorageError, bad_request

API_VERSION = "meta.k8s.io/v1"


def encode_continue(key: str, key_prefix: str, resource_version: int) -> str:
    next_key = key.removeprefix(key_prefix)
    if next_key == key:
        raise ValueError("unable to encode next field: the key and key prefix do not match")
    body = {"v": API_VERSION, "rv": resource_version, "start": next_key}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str, key_prefix: str) -> tuple[str, int]:
    """Return (the key to start from, the list revision); StorageError when malformed."""
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as e:
        raise _invalid(f"continue key is not valid: {e}") from None
    if not isinstance(body, dict) or body.get("v") != API_VERSION:
        raise _invalid("continue key is not valid: server does not recognize this encoded key")
    rv, start = body.get("rv"), body.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise _invalid("continue key is not valid: incorrect encoded start resourceVersion")
    if not isinstance(start, str) or not start:
        raise _invalid("continue key is not valid: encoded start key empty")
    # A start key that climbs out of the resource prefix would list another resource:
    # it must be unchanged by path cleaning.
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key:
        raise _invalid(f"continue key is not valid: {start}")
    return key_prefix + key[1:], rv


def _invalid(message: str) -> StorageError:
    return bad_request(f"invalid continue token: {message}")
