"""Registry error codes and their JSON body.

Mirrors distribution's registry/api/errcode (errors.go, register.go) and registry/api/v2/
errors.go, and the OCI distribution-spec "Error Codes" table: the body is
`{"errors": [{"code": ..., "message": ..., "detail": ...}]}`.
Omitted: localisation of messages, the Descriptor registry of error groups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# code → (HTTP status, message) exactly as distribution registers them
CODES = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "The operation is unsupported."),
    "TOOMANYREQUESTS": (429, "too many requests"),
}


@dataclass
class RegistryError(Exception):
    code: str
    detail: object = None
    status: int | None = None

    @property
    def http_status(self) -> int:
        return self.status or CODES[self.code][0]

    def body(self) -> bytes:
        err: dict = {"code": self.code, "message": CODES[self.code][1]}
        if self.detail is not None:
            err["detail"] = self.detail
        return json.dumps({"errors": [err]}).encode()
