"""Pull-through cache: fetch what is missing from an upstream registry, then serve it.

Mirrors distribution's registry/proxy/ (proxymanifeststore.go, proxyblobstore.go): on a
miss the manifest or blob is fetched from `--proxy-remote`, verified against its digest,
stored and linked locally, so the next pull is served from the cache.
Omitted: upstream authentication, TTL-based expiry of cached content (the scheduler).
"""

from __future__ import annotations

import hashlib

import aiohttp

from minicontainer.image import manifest as mf
from minicontainer.registry import routes
from minicontainer.registry.errors import RegistryError

ACCEPT = ", ".join([*mf.MANIFEST_TYPES, *mf.INDEX_TYPES])


class PullThrough:
    def __init__(self, remote: str) -> None:
        self.remote = remote.rstrip("/")
        self.fetches = 0  # how many times the upstream was asked (tests read it)

    async def fetch_manifest(self, storage, name: str, ref: str) -> str:
        url = f"{self.remote}/v2/{name}/manifests/{ref}"
        async with aiohttp.ClientSession() as s, s.get(url, headers={"Accept": ACCEPT}) as resp:
            self.fetches += 1
            if resp.status != 200:
                raise RegistryError("MANIFEST_UNKNOWN", {"name": name, "reference": ref})
            data = await resp.read()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if routes.is_digest(ref) and ref != digest:
            raise RegistryError("DIGEST_INVALID", {"digest": ref})
        storage.content.put(data)
        storage.link_manifest(name, digest)
        if not routes.is_digest(ref):
            storage.tag(name, ref, digest)
        return digest

    async def fetch_blob(self, storage, name: str, digest: str) -> None:
        url = f"{self.remote}/v2/{name}/blobs/{digest}"
        ingest = storage.content.writer("proxy-" + digest[7:39])
        async with aiohttp.ClientSession() as s, s.get(url) as resp:
            self.fetches += 1
            if resp.status != 200:
                ingest.abort()
                raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
            with open(ingest.data, "wb") as f:
                async for chunk in resp.content.iter_chunked(1 << 20):
                    f.write(chunk)
        try:
            ingest.commit(digest)
        except Exception:
            raise RegistryError("BLOB_UNKNOWN", {"digest": digest}) from None
        storage.link_blob(name, digest)
