"""URL routing for the /v2/ API, and the repository name and tag grammar.

Mirrors distribution's registry/api/v2/routes.go + urls.go (RouteNameBase, Manifest, Tags,
Blob, BlobUpload, BlobUploadChunk, Catalog) and reference/regexp.go (path components,
tags, digests). Pure: `route(raw_path)` returns what to serve, or raises NAME_INVALID.
Contract: a name that passes `valid_name` never contains `.`/`..` segments, so it is safe
to join under the storage root (path traversal is refused here, once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minicontainer.registry.errors import RegistryError

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
NAME_RE = re.compile(rf"^{COMPONENT}(?:/{COMPONENT})*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
NAME_TOTAL_LENGTH_MAX = 255


@dataclass(frozen=True)
class Route:
    kind: str  # base | catalog | tags | manifest | blob | upload_start | upload
    name: str = ""
    arg: str = ""


def valid_name(name: str) -> bool:
    return len(name) <= NAME_TOTAL_LENGTH_MAX and bool(NAME_RE.match(name))


def is_digest(ref: str) -> bool:
    return bool(DIGEST_RE.match(ref))


def route(path: str) -> Route | None:
    """Map a raw request path to a Route; None for paths outside the API (404)."""
    if path in ("/v2", "/v2/"):
        return Route("base")
    if path == "/v2/_catalog":
        return Route("catalog")
    if not path.startswith("/v2/"):
        return None
    rest = path[4:]
    for suffix, kind in (("/tags/list", "tags"), ("/blobs/uploads/", "upload_start")):
        if rest.endswith(suffix):
            return _named(kind, rest[: -len(suffix)], "")
    for marker, kind in (("/blobs/uploads/", "upload"), ("/manifests/", "manifest")):
        head, sep, tail = rest.rpartition(marker)
        if sep and "/" not in tail and tail:
            return _named(kind, head, tail)
    head, sep, tail = rest.rpartition("/blobs/")
    if sep and "/" not in tail and tail:
        return _named("blob", head, tail)
    return None


def _named(kind: str, name: str, arg: str) -> Route:
    if not valid_name(name):
        raise RegistryError("NAME_INVALID", {"name": name})
    if kind == "manifest" and not (TAG_RE.match(arg) or is_digest(arg)):
        raise RegistryError("MANIFEST_INVALID" if ":" in arg else "TAG_INVALID", {"ref": arg})
    if kind == "blob" and not is_digest(arg):
        raise RegistryError("DIGEST_INVALID", {"digest": arg})
    if kind == "upload" and not re.match(r"^[A-Za-z0-9-]+$", arg):
        raise RegistryError("BLOB_UPLOAD_UNKNOWN")
    return Route(kind, name, arg)
