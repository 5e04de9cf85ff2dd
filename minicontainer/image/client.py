"""A distribution API client: push an image from the store, pull one into it.

Mirrors containerd's remotes/docker (resolver.go, pusher.go, fetcher.go) and
core/remotes/handlers.go (push children before parents, skip blobs the registry has,
verify each fetched blob against its digest). Plain HTTP only (`--tls-verify=false`).
Omitted: TLS, token authentication, retries with backoff, cross-repository mount hints.
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from minicontainer.image import manifest
from minicontainer.image.content import DigestMismatch
from minicontainer.image.layout import Layout
from minicontainer.image.manifest import Descriptor

ACCEPT = ", ".join([*manifest.MANIFEST_TYPES, *manifest.INDEX_TYPES])


class RegistryClientError(Exception):
    """An HTTP error from the registry, with the errcode code when there is one."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


@dataclass(frozen=True)
class Reference:
    host: str
    name: str
    ref: str

    @staticmethod
    def parse(text: str) -> Reference:
        """`HOST:PORT/REPO:TAG` or `HOST:PORT/REPO@sha256:…` (the host part is required)."""
        m = re.match(r"^([^/]+)/(.+?)(?:(@sha256:[a-f0-9]{64})|:([\w][\w.-]*))?$", text)
        if not m:
            raise ValueError(f"invalid reference format: {text!r}")
        ref = (m.group(3) or "")[1:] or m.group(4) or "latest"
        return Reference(m.group(1), m.group(2), ref)


class RegistryClient:
    def __init__(self, host: str, chunk_size: int | None = None) -> None:
        self.host = host
        self.chunk_size = chunk_size
        self.conn = http.client.HTTPConnection(host, timeout=60)

    def request(self, method: str, path: str, body=None, headers=None, ok=(200,)):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status not in ok:
            code, msg = "", data.decode(errors="replace")[:200]
            try:
                err = json.loads(data)["errors"][0]
                code, msg = err["code"], err["message"]
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            raise RegistryClientError(resp.status, code, msg)
        return resp, data

    def blob_exists(self, name: str, digest: str) -> bool:
        resp, _ = self.request("HEAD", f"/v2/{name}/blobs/{digest}", ok=(200, 404))
        return resp.status == 200

    def push_blob(self, name: str, desc: Descriptor, path) -> bool:
        """Upload one blob unless present; chunked (PATCH) when chunk_size is set."""
        if self.blob_exists(name, desc.digest):
            return False
        resp, _ = self.request("POST", f"/v2/{name}/blobs/uploads/", ok=(202,))
        location = _path(resp.getheader("Location"))
        with open(path, "rb") as f:
            if self.chunk_size:
                offset = 0
                while chunk := f.read(self.chunk_size):
                    rng = f"{offset}-{offset + len(chunk) - 1}"
                    headers = {"Content-Range": rng, "Content-Type": "application/octet-stream"}
                    resp, _ = self.request("PATCH", location, chunk, headers, ok=(202,))
                    location, offset = _path(resp.getheader("Location")), offset + len(chunk)
                body, size = b"", 0
            else:
                body, size = f, desc.size
            sep = "&" if "?" in location else "?"
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
            self.request("PUT", f"{location}{sep}digest={desc.digest}", body, headers, ok=(201,))
        return True

    def put_manifest(self, name: str, ref: str, media_type: str, data: bytes) -> str:
        headers = {"Content-Type": media_type}
        resp, _ = self.request("PUT", f"/v2/{name}/manifests/{ref}", data, headers, ok=(201,))
        return resp.getheader("Docker-Content-Digest")

    def get_manifest(self, name: str, ref: str) -> tuple[str, bytes]:
        resp, data = self.request("GET", f"/v2/{name}/manifests/{ref}", headers={"Accept": ACCEPT})
        return resp.getheader("Content-Type").split(";")[0], data

    def fetch_blob(self, name: str, desc: Descriptor, layout: Layout) -> None:
        """Stream a blob into an ingest and commit it only if its digest verifies."""
        self.conn.request("GET", f"/v2/{name}/blobs/{desc.digest}")
        resp = self.conn.getresponse()
        if resp.status != 200:
            resp.read()
            raise RegistryClientError(resp.status, "BLOB_UNKNOWN", desc.digest)
        w = layout.content.writer("pull-" + desc.digest[7:39])
        with open(w.data, "wb") as f:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
        w.commit(desc.digest, desc.size)


def push(layout: Layout, src: str, dest: str, chunk_size: int | None = None) -> str:
    """Push an image: blobs first, then manifests children-before-parents, then the tag."""
    ref = Reference.parse(dest)
    desc = layout.resolve(src)
    client = RegistryClient(ref.host, chunk_size)
    order = _post_order(layout, desc.digest)
    kinds = {}
    for d in order:
        data = layout.content.read(d) if layout.content.info(d).size < (4 << 20) else b""
        kinds[d] = _kind(data)
    for d in order:
        if kinds[d] is None:
            size = layout.content.info(d).size
            client.push_blob(ref.name, Descriptor("", d, size), layout.content.path(d))
    for d in order:
        if kinds[d] is not None:
            data = layout.content.read(d)
            tag = ref.ref if d == desc.digest else d
            client.put_manifest(ref.name, tag, kinds[d], data)
    return desc.digest


def pull(layout: Layout, src: str, name: str | None = None) -> Descriptor:
    """Pull a reference (picking the platform entry in an index) and tag it locally."""
    ref = Reference.parse(src)
    client = RegistryClient(ref.host)
    mt, data = client.get_manifest(ref.name, ref.ref)
    top = manifest.descriptor_for(mt, data)
    if not layout.content.exists(top.digest):
        layout.content.put(data)
    if mt in manifest.INDEX_TYPES:
        entry = manifest.select_platform(manifest.parse_index(data))
        mt, data = client.get_manifest(ref.name, entry.digest)
        if manifest.descriptor_for(mt, data).digest != entry.digest:
            raise DigestMismatch(f"manifest {entry.digest} did not verify")
        layout.content.put(data)
    for child in manifest.children(mt, data):
        if not layout.content.exists(child.digest):
            client.fetch_blob(ref.name, child, layout)
    layout.tag(name or src, top)
    return top


def _kind(data: bytes) -> str | None:
    """The manifest media type of a blob, or None for configs and layers."""
    if not data.startswith(b"{"):
        return None
    try:
        mt = manifest.detect_media_type(data)
        doc = json.loads(data)
    except manifest.ManifestError:
        return None
    if mt in manifest.MANIFEST_TYPES + manifest.INDEX_TYPES and doc.get("schemaVersion") == 2:
        return mt if ("config" in doc or "manifests" in doc) else None
    return None


def _post_order(layout: Layout, root: str) -> list[str]:
    """Reachable digests, children before the parents that name them."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(d: str) -> None:
        if d in seen:
            return
        seen.add(d)
        for c in layout.refs(d):
            visit(c)
        order.append(d)

    visit(root)
    return order


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")
