"""image scan: package inventories across layers (whiteouts honoured) and advisories."""

from __future__ import annotations

import io
import tarfile

from hypothesis import given
from hypothesis import strategies as st

from minicontainer.image import scan

DPKG = b"Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n"
APK = b"P:musl\nV:1.2.4-r2\n\nP:busybox\nV:1.36.1-r5\n"
PY = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\n"


def layer(path, entries):
    with tarfile.open(path, "w") as tf:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return path


def test_inventory_across_layers_and_advisories(tmp_path):
    site = "usr/lib/python3/dist-packages/requests-2.25.0.dist-info/METADATA"
    l1 = layer(
        tmp_path / "1.tar", [(scan.DPKG_STATUS, DPKG), (scan.APK_INSTALLED, APK), (site, PY)]
    )
    l2 = layer(tmp_path / "2.tar", [("lib/apk/db/.wh.installed", b"")])
    pkgs = scan.inventory([l1, l2])
    assert [(p.kind, p.name) for p in pkgs] == [
        ("deb", "openssl"),
        ("deb", "zlib1g"),
        ("python", "requests"),
    ]
    advisories = [
        {"id": "CVE-A", "ecosystem": "deb", "package": "openssl", "fixed": "3.0.13-1~deb12u1"},
        {"id": "CVE-B", "ecosystem": "deb", "package": "openssl", "fixed": "3.0.2"},
        {
            "id": "CVE-C",
            "ecosystem": "python",
            "package": "Requests",
            "introduced": "2.0",
            "fixed": "2.31.0",
        },
        {"id": "CVE-D", "ecosystem": "apk", "package": "musl"},
    ]
    assert [f["id"] for f in scan.match(pkgs, advisories)] == ["CVE-A", "CVE-C"]


@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
)
def test_version_order_is_numeric_per_component(a, b):
    va, vb = ".".join(map(str, a)), ".".join(map(str, b))
    assert (scan.version_key(va) < scan.version_key(vb)) == (a < b)
