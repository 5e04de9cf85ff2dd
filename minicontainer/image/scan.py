"""Image scanning: list the packages in an image's layers and match local advisories.

A small, honest stand-in for Trivy-style scanners (aquasecurity/trivy's fanal analyzers:
pkg/fanal/analyzer/pkg/dpkg, apk, language/python/packaging). Layers are read in order
with whiteouts honoured, so a package database deleted by a later layer is not reported.
Advisories are a local JSON list: {"id", "ecosystem": deb|apk|python, "package",
"introduced" (optional), "fixed" (optional)}; a package is affected when
introduced <= version < fixed.
Limits: version order is a generic numeric/alphabetic comparison (not dpkg's or PEP 440's
full rules); binaries not installed by a package manager are invisible; no online feeds.
"""

from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass
from email.parser import HeaderParser

DPKG_STATUS = "var/lib/dpkg/status"
APK_INSTALLED = "lib/apk/db/installed"
PY_METADATA = re.compile(
    r"(^|/)(site|dist)-packages/[^/]+\.(dist-info/METADATA|egg-info/PKG-INFO)$"
)


@dataclass(frozen=True)
class Package:
    kind: str  # deb | apk | python
    name: str
    version: str


def _interesting(name: str) -> bool:
    return name in (DPKG_STATUS, APK_INSTALLED) or bool(PY_METADATA.search(name))


def collect_files(layers: list[str | os.PathLike]) -> dict[str, bytes]:
    """The final content of the package databases after applying every layer."""
    files: dict[str, bytes] = {}
    for path in layers:
        with tarfile.open(path, "r|*") as tf:
            for ti in tf:
                name = os.path.normpath(ti.name).lstrip("/")
                parent, base = os.path.split(name)
                if base == ".wh..wh..opq":
                    files = {k: v for k, v in files.items() if not k.startswith(parent + "/")}
                elif base.startswith(".wh."):
                    gone = os.path.join(parent, base[4:])
                    files = {
                        k: v for k, v in files.items() if k != gone and not k.startswith(gone + "/")
                    }
                elif ti.isreg() and _interesting(name):
                    files[name] = tf.extractfile(ti).read()
    return files


def parse_dpkg(text: str) -> list[Package]:
    out = []
    for para in text.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", para, re.M))
        if "Package" in fields and "installed" in fields.get("Status", "installed"):
            out.append(Package("deb", fields["Package"], fields.get("Version", "")))
    return out


def parse_apk(text: str) -> list[Package]:
    out = []
    for para in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z]):(.*)$", para, re.M))
        if "P" in fields:
            out.append(Package("apk", fields["P"], fields.get("V", "")))
    return out


def inventory(layers: list[str | os.PathLike]) -> list[Package]:
    pkgs: list[Package] = []
    for name, data in sorted(collect_files(layers).items()):
        text = data.decode("utf-8", errors="replace")
        if name == DPKG_STATUS:
            pkgs += parse_dpkg(text)
        elif name == APK_INSTALLED:
            pkgs += parse_apk(text)
        else:
            meta = HeaderParser().parsestr(text)
            if meta.get("Name"):
                pkgs.append(Package("python", meta["Name"], meta.get("Version", "")))
    return sorted(set(pkgs), key=lambda p: (p.kind, p.name.lower(), p.version))


def version_key(v: str) -> tuple:
    """Epoch first, then alternating numeric and alphabetic runs compared by type."""
    epoch, _, rest = v.partition(":") if re.match(r"^\d+:", v) else ("0", "", v)
    parts = re.findall(r"\d+|[A-Za-z]+", rest)
    return (int(epoch), *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts])


def match(packages: list[Package], advisories: list[dict]) -> list[dict]:
    found = []
    for pkg in packages:
        for adv in advisories:
            if (
                adv.get("ecosystem") != pkg.kind
                or adv.get("package", "").lower() != pkg.name.lower()
            ):
                continue
            v = version_key(pkg.version)
            lo = adv.get("introduced")
            hi = adv.get("fixed")
            if (lo is None or version_key(lo) <= v) and (hi is None or v < version_key(hi)):
                found.append({"id": adv["id"], "package": pkg.name, "version": pkg.version})
    return found
