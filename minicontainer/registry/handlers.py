"""aiohttp handlers for the OCI distribution API.

Mirrors distribution's registry/handlers/ (app.go dispatch, api.go base, blob.go,
blobupload.go: StartBlobUpload/PatchBlobData/PutBlobUploadComplete/GetUploadStatus,
manifests.go, tags.go, catalog.go) and the distribution-spec endpoint table (end-1 … end-13).
Each response carries `Docker-Distribution-API-Version: registry/2.0`; errors use the
errcode JSON body. Blobs are re-hashed once per process before they are served.
Omitted: authentication, the referrers API, Link-header pagination of the catalog by
continuation token (we use n/last like tags), redirects to storage backends.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from aiohttp import web

from minicontainer.image import manifest as mf
from minicontainer.image.content import DigestMismatch, NotFound, validate_digest
from minicontainer.registry import routes
from minicontainer.registry.errors import RegistryError
from minicontainer.registry.storage import Storage, paginate

MANIFEST_MAX = 4 << 20  # distribution refuses manifests over 4 MiB as well
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}


class Registry:
    def __init__(self, storage: Storage, proxy=None) -> None:
        self.storage = storage
        self.proxy = proxy  # a proxy.PullThrough, or None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            r = routes.route(request.raw_path.split("?", 1)[0])
            if r is None:
                raise web.HTTPNotFound(headers=API_VERSION)
            handler = getattr(self, f"{r.kind}_{request.method.lower()}", None)
            if handler is None:
                raise RegistryError("UNSUPPORTED", status=405)
            resp = await handler(request, r)
        except RegistryError as e:
            resp = web.Response(
                status=e.http_status, body=e.body(), content_type="application/json"
            )
        resp.headers.update(API_VERSION)
        return resp

    # end-1: version check -------------------------------------------------------
    async def base_get(self, request, r) -> web.StreamResponse:
        return web.json_response({})

    base_head = base_get

    async def catalog_get(self, request, r) -> web.StreamResponse:
        n, last = _page_args(request)
        repos, more = paginate(self.storage.catalog(), n, last)
        headers = {}
        if more:
            headers["Link"] = f'</v2/_catalog?n={n}&last={repos[-1]}>; rel="next"'
        return web.json_response({"repositories": repos}, headers=headers)

    async def tags_get(self, request, r) -> web.StreamResponse:
        if not self.storage.repo_exists(r.name):
            raise RegistryError("NAME_UNKNOWN", {"name": r.name})
        n, last = _page_args(request)
        tags, more = paginate(self.storage.tags(r.name), n, last)
        headers = {}
        if more:
            headers["Link"] = f'</v2/{r.name}/tags/list?n={n}&last={tags[-1]}>; rel="next"'
        return web.json_response({"name": r.name, "tags": tags}, headers=headers)

    # manifests ----------------------------------------------------------------
    def _manifest_digest(self, r) -> str:
        if routes.is_digest(r.arg):
            if self.storage.manifest_linked(r.name, r.arg):
                return r.arg
        else:
            d = self.storage.tag_digest(r.name, r.arg)
            if d and self.storage.content.exists(d):
                return d
        raise RegistryError("MANIFEST_UNKNOWN", {"name": r.name, "reference": r.arg})

    async def manifest_get(self, request, r, head: bool = False) -> web.StreamResponse:
        try:
            digest = self._manifest_digest(r)
        except RegistryError:
            if self.proxy is None:
                raise
            digest = await self.proxy.fetch_manifest(self.storage, r.name, r.arg)
        data = self.storage.content.read(digest)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:  # corrupted on disk
            raise RegistryError("MANIFEST_UNKNOWN", {"name": r.name, "reference": r.arg})
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        mt = mf.detect_media_type(data)
        if head:
            headers["Content-Length"] = str(len(data))
            headers["Content-Type"] = mt
            return web.Response(status=200, headers=headers)
        return web.Response(body=data, headers={**headers, "Content-Type": mt})

    async def manifest_head(self, request, r) -> web.StreamResponse:
        return await self.manifest_get(request, r, head=True)

    async def manifest_put(self, request, r) -> web.StreamResponse:
        data = await request.read()
        try:
            mt = request.headers.get("Content-Type") or mf.detect_media_type(data)
            refs = mf.children(mf.detect_media_type(data), data)
        except mf.ManifestError as e:
            raise RegistryError("MANIFEST_INVALID", str(e)) from None
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if routes.is_digest(r.arg) and r.arg != digest:
            raise RegistryError("DIGEST_INVALID", {"digest": r.arg})
        is_index = mt in mf.INDEX_TYPES
        for d in refs:
            ok = (
                self.storage.manifest_linked(r.name, d.digest)
                if is_index
                else self.storage.blob_linked(r.name, d.digest)
            )
            if not ok:
                code = "MANIFEST_UNKNOWN" if is_index else "MANIFEST_BLOB_UNKNOWN"
                raise RegistryError(code, {"digest": d.digest})
        self.storage.content.put(data)
        self.storage.link_manifest(r.name, digest)
        if not routes.is_digest(r.arg):
            self.storage.tag(r.name, r.arg, digest)
        headers = {
            "Location": f"/v2/{r.name}/manifests/{digest}",
            "Docker-Content-Digest": digest,
        }
        return web.Response(status=201, headers=headers)

    async def manifest_delete(self, request, r) -> web.StreamResponse:
        ok = (
            self.storage.unlink_manifest(r.name, r.arg)
            if routes.is_digest(r.arg)
            else self.storage.untag(r.name, r.arg)
        )
        if not ok:
            raise RegistryError("MANIFEST_UNKNOWN", {"name": r.name, "reference": r.arg})
        return web.Response(status=202)

    # blobs ----------------------------------------------------------------------
    async def _servable(self, r) -> int:
        """Size of a blob linked in the repository that still hashes to its digest."""
        st = self.storage
        if not st.blob_linked(r.name, r.arg):
            if self.proxy is None:
                raise RegistryError("BLOB_UNKNOWN", {"digest": r.arg})
            await self.proxy.fetch_blob(st, r.name, r.arg)
        key = st.needs_verify(r.arg)
        if key is not None:
            if not await asyncio.to_thread(st.content.verify, r.arg):
                raise RegistryError("BLOB_UNKNOWN", {"digest": r.arg, "reason": "corrupt"})
            st.verified.add(key)
        return st.content.info(r.arg).size

    async def blob_head(self, request, r) -> web.StreamResponse:
        size = await self._servable(r)
        headers = _blob_headers(r.arg)
        headers["Content-Length"] = str(size)
        return web.Response(status=200, headers=headers)

    async def blob_get(self, request, r) -> web.StreamResponse:
        await self._servable(r)
        # FileResponse implements Range (206 + Content-Range) the way http.ServeContent does
        return web.FileResponse(self.storage.content.path(r.arg), headers=_blob_headers(r.arg))

    async def blob_delete(self, request, r) -> web.StreamResponse:
        if not self.storage.unlink_blob(r.name, r.arg):
            raise RegistryError("BLOB_UNKNOWN", {"digest": r.arg})
        return web.Response(status=202)

    # uploads ----------------------------------------------------------------------
    async def upload_start_post(self, request, r) -> web.StreamResponse:
        q = request.query
        mount, source = q.get("mount"), q.get("from")
        mountable = mount and source and routes.valid_name(source) and routes.is_digest(mount)
        if mountable and self.storage.blob_linked(source, mount):
            self.storage.link_blob(r.name, mount)
            return _created(r.name, mount)
        upload_id = self.storage.start_upload(r.name)
        if "digest" in q:  # monolithic upload in one POST
            return await self._finish(request, r.name, upload_id, q["digest"])
        return _accepted(r.name, upload_id, 0)

    async def upload_get(self, request, r) -> web.StreamResponse:
        ingest = self._ingest(r)
        return _accepted(r.name, r.arg, ingest.offset, status=204)

    async def upload_patch(self, request, r) -> web.StreamResponse:
        ingest = self._ingest(r)
        cr = request.headers.get("Content-Range")
        if cr:
            m = re.match(r"^(?:bytes )?(\d+)-(\d+)$", cr.strip())
            if not m or int(m.group(1)) != ingest.offset:
                return _range_error(r.name, r.arg, ingest.offset)
        await _stream_into(request, ingest)
        return _accepted(r.name, r.arg, ingest.offset)

    async def upload_put(self, request, r) -> web.StreamResponse:
        self._ingest(r)
        return await self._finish(request, r.name, r.arg, request.query.get("digest", ""))

    async def upload_delete(self, request, r) -> web.StreamResponse:
        self._ingest(r).abort()
        self.storage.end_upload(r.name, r.arg)
        return web.Response(status=204)

    def _ingest(self, r):
        try:
            return self.storage.upload(r.name, r.arg)
        except NotFound:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", {"uuid": r.arg}) from None

    async def _finish(self, request, name: str, upload_id: str, digest: str):
        try:
            validate_digest(digest)
        except Exception:
            raise RegistryError("DIGEST_INVALID", {"digest": digest}) from None
        ingest = self.storage.upload(name, upload_id)
        await _stream_into(request, ingest)
        try:
            await asyncio.to_thread(ingest.commit, digest)
        except DigestMismatch:
            raise RegistryError("DIGEST_INVALID", {"digest": digest}) from None
        finally:
            self.storage.end_upload(name, upload_id)
        self.storage.link_blob(name, digest)
        return _created(name, digest)


async def _stream_into(request: web.Request, ingest) -> None:
    with open(ingest.data, "ab") as f:
        async for chunk in request.content.iter_chunked(1 << 20):
            f.write(chunk)


def _page_args(request) -> tuple[int | None, str | None]:
    n = request.query.get("n")
    if n is not None and not n.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", {"n": n})
    return (int(n) if n is not None else None), request.query.get("last")


def _blob_headers(digest: str) -> dict:
    return {
        "Docker-Content-Digest": digest,
        "ETag": f'"{digest}"',
        "Content-Type": "application/octet-stream",
        "Cache-Control": "max-age=31536000",
    }


def _created(name: str, digest: str) -> web.Response:
    headers = {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
    return web.Response(status=201, headers=headers)


def _accepted(name: str, upload_id: str, offset: int, status: int = 202) -> web.Response:
    headers = {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(offset - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }
    return web.Response(status=status, headers=headers)


def _range_error(name: str, upload_id: str, offset: int) -> web.Response:
    resp = _accepted(name, upload_id, offset, status=416)
    resp.body = RegistryError("BLOB_UPLOAD_INVALID", {"offset": offset}).body()
    resp.content_type = "application/json"
    return resp


def make_app(storage: Storage, proxy=None) -> web.Application:
    app = web.Application(client_max_size=MANIFEST_MAX)
    reg = Registry(storage, proxy)
    app.router.add_route("*", "/{tail:.*}", reg.dispatch)
    app["registry"] = reg
    return app
