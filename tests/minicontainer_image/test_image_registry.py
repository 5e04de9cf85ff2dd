"""The registry over real HTTP: spec status codes, headers, error bodies, resume, proxy."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest

from minicontainer.image import client, manifest
from minicontainer.image.content import digest_of
from minicontainer.image.layout import Layout

from .conftest import start_registry


def call(addr, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(addr, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def error_code(data: bytes) -> str:
    doc = json.loads(data)
    assert set(doc["errors"][0]) >= {"code", "message"}
    return doc["errors"][0]["code"]


def push_blob(addr, name, data: bytes) -> str:
    d = digest_of(data)
    resp, _ = call(addr, "POST", f"/v2/{name}/blobs/uploads/?digest={d}", data)
    assert resp.status == 201, resp.status
    return d


def small_image(addr, name, tag, layer=b"layer-bytes"):
    ld = push_blob(addr, name, layer)
    cd = push_blob(addr, name, b"{}")
    cfg = manifest.Descriptor(manifest.OCI_CONFIG, cd, 2)
    m = manifest.build_manifest(cfg, [manifest.Descriptor(manifest.OCI_LAYER, ld, len(layer))])
    resp, _ = call(
        addr, "PUT", f"/v2/{name}/manifests/{tag}", m, {"Content-Type": manifest.OCI_MANIFEST}
    )
    assert resp.status == 201
    assert resp.getheader("Docker-Content-Digest") == digest_of(m)
    return m


def test_base_manifest_and_blob_endpoints(registry):
    resp, data = call(registry, "GET", "/v2/")
    assert (
        resp.status == 200 and resp.getheader("Docker-Distribution-API-Version") == "registry/2.0"
    )
    m = small_image(registry, "demo/web", "1")
    resp, data = call(registry, "GET", "/v2/demo/web/manifests/1")
    assert data == m and resp.getheader("Content-Type") == manifest.OCI_MANIFEST
    assert resp.getheader("Docker-Content-Digest") == digest_of(m)
    resp, data = call(registry, "HEAD", f"/v2/demo/web/manifests/{digest_of(m)}")
    assert resp.status == 200 and resp.getheader("Content-Length") == str(len(m))
    ld = digest_of(b"layer-bytes")
    resp, data = call(registry, "GET", f"/v2/demo/web/blobs/{ld}", headers={"Range": "bytes=2-5"})
    assert resp.status == 206 and data == b"yer-"
    resp, _ = call(registry, "HEAD", f"/v2/demo/web/blobs/{ld}")
    assert (
        resp.getheader("Content-Length") == "11" and resp.getheader("Docker-Content-Digest") == ld
    )


def test_errors_use_the_spec_codes(registry):
    resp, data = call(registry, "GET", "/v2/demo/web/manifests/nope")
    assert resp.status == 404 and error_code(data) == "MANIFEST_UNKNOWN"
    resp, data = call(registry, "GET", f"/v2/demo/web/blobs/{digest_of(b'x')}")
    assert resp.status == 404 and error_code(data) == "BLOB_UNKNOWN"
    resp, data = call(registry, "POST", f"/v2/demo/blobs/uploads/?digest={digest_of(b'x')}", b"y")
    assert resp.status == 400 and error_code(data) == "DIGEST_INVALID"
    resp, data = call(registry, "GET", "/v2/nothere/tags/list")
    assert resp.status == 404 and error_code(data) == "NAME_UNKNOWN"
    bad = manifest.build_manifest(manifest.Descriptor(manifest.OCI_CONFIG, digest_of(b"?"), 1), [])
    resp, data = call(
        registry, "PUT", "/v2/demo/manifests/x", bad, {"Content-Type": manifest.OCI_MANIFEST}
    )
    assert resp.status == 400 and error_code(data) == "MANIFEST_BLOB_UNKNOWN"
    resp, data = call(registry, "PUT", "/v2/demo/manifests/x", b"not json")
    assert resp.status == 400 and error_code(data) == "MANIFEST_INVALID"


@pytest.mark.parametrize(
    "path", ["/v2/../../etc/blobs/uploads/", "/v2/a/%2e%2e/%2e%2e/x/blobs/uploads/"]
)
def test_path_traversal_is_refused(registry_server, path):
    addr, root = registry_server
    resp, data = call(addr, "POST", path)
    assert resp.status in (400, 404)
    if resp.status == 400:
        assert error_code(data) == "NAME_INVALID"
    for base in (root, root / "repositories", root.parent):
        assert not (base / "etc").exists() and not (base / "x").exists()


def test_interrupted_chunked_upload_resumes(registry):
    data = bytes(range(256)) * 40
    resp, _ = call(registry, "POST", "/v2/demo/blobs/uploads/")
    assert resp.status == 202 and resp.getheader("Range") == "0-0"
    loc = resp.getheader("Location")
    resp, _ = call(registry, "PATCH", loc, data[:3000], {"Content-Range": "0-2999"})
    assert resp.status == 202 and resp.getheader("Range") == "0-2999"
    # the client "crashes"; a new one asks where the upload stands (end-13) and goes on
    resp, _ = call(registry, "GET", loc)
    assert resp.status == 204 and resp.getheader("Range") == "0-2999"
    resp, body = call(registry, "PATCH", loc, data[100:200], {"Content-Range": "100-199"})
    assert resp.status == 416 and error_code(body) == "BLOB_UPLOAD_INVALID"
    resp, _ = call(registry, "PATCH", loc, data[3000:], {"Content-Range": f"3000-{len(data) - 1}"})
    assert resp.status == 202
    resp, _ = call(registry, "PUT", f"{loc}?digest={digest_of(data)}")
    assert resp.status == 201 and resp.getheader("Location").endswith(digest_of(data))
    _resp, got = call(registry, "GET", f"/v2/demo/blobs/{digest_of(data)}")
    assert got == data
    resp, body = call(registry, "GET", loc)
    assert resp.status == 404 and error_code(body) == "BLOB_UPLOAD_UNKNOWN"


def test_concurrent_pushes_of_one_layer_do_not_corrupt_it(registry):
    data = b"L" * 300_000
    errors = []

    def push_chunked():
        try:
            c = client.RegistryClient(registry, chunk_size=50_000)
            c.conn.request("POST", "/v2/demo/blobs/uploads/")
            r = c.conn.getresponse()
            r.read()
            loc = r.getheader("Location")
            for i in range(0, len(data), 50_000):
                rng = f"{i}-{i + 49_999}"
                c.request("PATCH", loc, data[i : i + 50_000], {"Content-Range": rng}, ok=(202,))
            c.request("PUT", f"{loc}?digest={digest_of(data)}", b"", ok=(201,))
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=push_chunked) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _resp, got = call(registry, "GET", f"/v2/demo/blobs/{digest_of(data)}")
    assert got == data


def test_tags_pagination_catalog_mount_and_delete(registry):
    m = small_image(registry, "demo/tags", "a")
    for tag in ("b", "c"):
        call(
            registry,
            "PUT",
            f"/v2/demo/tags/manifests/{tag}",
            m,
            {"Content-Type": manifest.OCI_MANIFEST},
        )
    resp, data = call(registry, "GET", "/v2/demo/tags/tags/list?n=2")
    assert json.loads(data) == {"name": "demo/tags", "tags": ["a", "b"]}
    assert resp.getheader("Link") == '</v2/demo/tags/tags/list?n=2&last=b>; rel="next"'
    resp, data = call(registry, "GET", "/v2/demo/tags/tags/list?n=x")
    assert resp.status == 400 and error_code(data) == "PAGINATION_NUMBER_INVALID"
    _r, data = call(registry, "GET", "/v2/demo/tags/tags/list?n=0")
    assert json.loads(data)["tags"] == []
    _r, data = call(registry, "GET", "/v2/demo/tags/tags/list?n=2&last=b")
    assert json.loads(data)["tags"] == ["c"]
    ld = digest_of(b"layer-bytes")
    resp, _ = call(registry, "POST", f"/v2/other/blobs/uploads/?mount={ld}&from=demo/tags")
    assert resp.status == 201 and resp.getheader("Docker-Content-Digest") == ld
    resp, _ = call(registry, "POST", f"/v2/third/blobs/uploads/?mount={ld}&from=nothere")
    assert resp.status == 202  # not mountable: an ordinary upload session starts
    _r, data = call(registry, "GET", "/v2/_catalog")
    assert "demo/tags" in json.loads(data)["repositories"]
    resp, _ = call(registry, "DELETE", f"/v2/demo/tags/manifests/{digest_of(m)}")
    assert resp.status == 202
    resp, data = call(registry, "GET", "/v2/demo/tags/manifests/a")
    assert resp.status == 404 and error_code(data) == "MANIFEST_UNKNOWN"


def test_storage_survives_restart_and_corrupt_blobs_are_not_served(tmp_path):
    root = tmp_path / "reg"
    proc, addr = start_registry(root)
    try:
        d = push_blob(addr, "demo", b"precious")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc, addr = start_registry(root)
    try:
        _r, got = call(addr, "GET", f"/v2/demo/blobs/{d}")
        assert got == b"precious"
        blob = root / "blobs" / "sha256" / d[7:]
        blob.chmod(0o644)
        blob.write_bytes(b"tampered")
        resp, data = call(addr, "GET", f"/v2/demo/blobs/{d}")
        assert resp.status == 404 and error_code(data) == "BLOB_UNKNOWN"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_client_push_pull_round_trip_and_pull_through_cache(registry, tmp_path):
    src = Layout(tmp_path / "src")
    layer = b"x" * 70_000
    ld = src.content.put(layer)
    cfg = src.content.put(b'{"rootfs":{"type":"layers","diff_ids":[]}}')
    m = manifest.build_manifest(
        manifest.Descriptor(manifest.OCI_CONFIG, cfg.digest, cfg.size),
        [manifest.Descriptor(manifest.OCI_LAYER, ld.digest, ld.size)],
    )
    src.content.put(m)
    src.tag("app:1", manifest.descriptor_for(manifest.OCI_MANIFEST, m))
    client.push(src, "app:1", f"{registry}/demo/app:1", chunk_size=16_384)
    proc, cache = start_registry(tmp_path / "cache", "--proxy-remote", f"http://{registry}")
    try:
        for host in (registry, cache, cache):  # the second cache pull is served locally
            dst = Layout(tmp_path / f"dst-{host.replace(':', '-')}")
            top = client.pull(dst, f"{host}/demo/app:1", "app:copy")
            assert top.digest == digest_of(m)
            assert dst.content.read(ld.digest) == layer
        cached = Path(tmp_path / "cache" / "blobs" / "sha256" / ld.digest[7:])
        assert cached.read_bytes() == layer
    finally:
        proc.terminate()
        proc.wait(timeout=10)
