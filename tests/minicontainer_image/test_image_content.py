"""Pure-ish cores: content addressing, ingests, manifests, gc, chain IDs, routes."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicontainer.image import gc, manifest
from minicontainer.image.archive import chain_ids
from minicontainer.image.content import ContentStore, DigestMismatch, NotFound, digest_of
from minicontainer.image.layout import Layout, normalize
from minicontainer.registry import routes
from minicontainer.registry.errors import RegistryError
from minicontainer.registry.storage import paginate

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(blobs=st.lists(st.binary(max_size=300), max_size=8))
def test_content_addressing_names_every_blob_by_its_hash(tmp_path_factory, blobs):
    store = ContentStore(tmp_path_factory.mktemp("cs"))
    for b in blobs:
        info = store.put(b)
        assert info.digest == "sha256:" + hashlib.sha256(b).hexdigest()
        assert store.read(info.digest) == b
    assert {i.digest for i in store.walk()} == {digest_of(b) for b in blobs}
    for i in store.walk():
        assert store.verify(i.digest)


@SETTINGS
@given(data=st.binary(min_size=1, max_size=2000), cuts=st.lists(st.integers(0, 2000)))
def test_ingest_resumes_at_its_offset_and_commits_the_whole(tmp_path_factory, data, cuts):
    store = ContentStore(tmp_path_factory.mktemp("cs"))
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for lo, hi in zip(points, points[1:], strict=False):
        w = store.open_ingest("up") if lo else store.writer("up")  # a fresh handle per chunk
        assert w.offset == lo
        w.write(data[lo:hi])
    info = store.open_ingest("up").commit(digest_of(data), len(data))
    assert store.read(info.digest) == data


def test_commit_with_wrong_digest_is_refused_and_leaves_nothing(tmp_path):
    store = ContentStore(tmp_path)
    w = store.writer("bad")
    w.write(b"hello")
    with pytest.raises(DigestMismatch):
        w.commit(digest_of(b"other"))
    assert list(store.walk()) == []
    with pytest.raises(NotFound):
        store.open_ingest("bad")


def _image(layout: Layout, layers: list[bytes], name: str | None):
    descs = [manifest.Descriptor(manifest.OCI_LAYER, *_put(layout, b)) for b in layers]
    cfg = json.dumps({"rootfs": {"type": "layers", "diff_ids": [d.digest for d in descs]}})
    c = manifest.Descriptor(manifest.OCI_CONFIG, *_put(layout, cfg.encode()))
    m = manifest.build_manifest(c, descs)
    layout.content.put(m)
    d = manifest.descriptor_for(manifest.OCI_MANIFEST, m)
    if name:
        layout.tag(name, d)
    return d


def _put(layout, data):
    info = layout.content.put(data)
    return info.digest, info.size


@SETTINGS
@given(
    images=st.lists(
        st.tuples(st.lists(st.binary(min_size=1, max_size=20), max_size=3), st.booleans()),
        max_size=5,
    )
)
def test_gc_keeps_exactly_what_tagged_images_reach(tmp_path_factory, images):
    layout = Layout(tmp_path_factory.mktemp("layout"))
    kept: set[str] = set()
    for i, (layers, tagged) in enumerate(images):
        d = _image(layout, layers, f"img{i}" if tagged else None)
        if tagged:
            kept |= gc.mark([d.digest], layout.refs)
    layout.gc()
    assert {i.digest for i in layout.content.walk()} == kept


def test_index_selects_the_linux_amd64_entry(tmp_path):
    layout = Layout(tmp_path)
    a = _image(layout, [b"arm"], None)
    b = _image(layout, [b"amd"], None)
    arm = manifest.Descriptor(
        a.media_type, a.digest, a.size, platform={"os": "linux", "architecture": "arm64"}
    )
    amd = manifest.Descriptor(
        b.media_type, b.digest, b.size, platform={"os": "linux", "architecture": "amd64"}
    )
    idx = manifest.build_index([arm, amd])
    layout.content.put(idx)
    layout.tag("multi", manifest.descriptor_for(manifest.OCI_INDEX, idx))
    want = {"os": "linux", "architecture": "amd64"}
    got, _config, layers = layout.image(layout.resolve("multi"), want)
    assert got.digest == b.digest and layers[0].digest == digest_of(b"amd")
    with pytest.raises(manifest.ManifestError):
        manifest.select_platform([arm], want)


def test_tags_resolve_and_untag(tmp_path):
    layout = Layout(tmp_path)
    d = _image(layout, [b"x"], "demo/web")
    assert normalize("demo/web") == "demo/web:latest"
    assert layout.resolve("demo/web:latest").digest == d.digest
    layout.untag("demo/web")
    with pytest.raises(NotFound):
        layout.resolve("demo/web")
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}


def test_chain_ids_follow_the_image_spec_formula():
    a, b = digest_of(b"a"), digest_of(b"b")
    want = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_ids([a, b]) == [a, want]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/../../etc/manifests/latest",
        "/v2/a/%2e%2e/b/manifests/latest",
        "/v2/UPPER/manifests/latest",
        "/v2/a//b/blobs/uploads/",
        "/v2/-a/tags/list",
    ],
)
def test_route_refuses_invalid_names(path):
    with pytest.raises(RegistryError) as e:
        routes.route(path)
    assert e.value.code == "NAME_INVALID"


def test_route_table():
    assert routes.route("/v2/") == routes.Route("base")
    assert routes.route("/v2/a/b/manifests/v1") == routes.Route("manifest", "a/b", "v1")
    d = digest_of(b"")
    assert routes.route(f"/v2/a/blobs/{d}") == routes.Route("blob", "a", d)
    assert routes.route("/v2/a/blobs/uploads/") == routes.Route("upload_start", "a")
    assert routes.route("/v2/a/blobs/uploads/1-2") == routes.Route("upload", "a", "1-2")
    assert routes.route("/v2/a/tags/list") == routes.Route("tags", "a")
    assert routes.route("/elsewhere") is None


@given(st.lists(st.text("abc", min_size=1, max_size=3), unique=True), st.integers(1, 5))
def test_pagination_visits_every_item_once(items, n):
    seen, last = [], None
    while True:
        page, more = paginate(sorted(items), n, last)
        seen += page
        if not more:
            break
        last = page[-1]
    assert seen == sorted(items)


def test_docker_archive_import(tmp_path):
    import io
    import tarfile

    from minicontainer.image.layout import import_path

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        ti = tarfile.TarInfo("hello")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"hi"))
    config = json.dumps(
        {"os": "linux", "rootfs": {"type": "layers", "diff_ids": [digest_of(layer.getvalue())]}}
    )
    archive = tmp_path / "saved.tar"
    with tarfile.open(archive, "w") as tf:
        files = {
            "manifest.json": json.dumps(
                [{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]}]
            ),
            "c.json": config,
            "l/layer.tar": layer.getvalue(),
        }
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    layout = Layout(tmp_path / "store")
    import_path(layout, str(archive), "imported:1")
    _m, cfg, layers = layout.image(layout.resolve("imported:1"))
    assert layers[0].digest == digest_of(layer.getvalue())
    assert layout.content.read(cfg.digest) == config.encode()
