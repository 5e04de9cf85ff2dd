"""Read manifests from files and directories: YAML (multi-document) or JSON.

Mirrors what kubectl's resource builder does with -f FILE|DIR
(k8s.io/cli-runtime/pkg/resource: FileVisitor, StreamVisitor over a YAML or
JSON decoder): every document becomes one object, decoded by the scheme.
YAML timestamps stay strings, as Kubernetes' YAML-to-JSON conversion keeps
them, so the RFC 3339 parsing happens in one place.
Omitted: URLs, stdin, kustomize, `kind: List` flattening.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from miniapi.scheme import decode

__all__ = ["find_manifest_files", "load_documents", "load_objects"]

_SUFFIXES = (".yaml", ".yml", ".json")


class _Loader(yaml.SafeLoader):
    """A SafeLoader without the timestamp resolver (times stay RFC 3339 strings)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def find_manifest_files(paths: list[str | Path]) -> list[Path]:
    """Files as given, directories expanded to their *.yaml/*.yml/*.json, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix in _SUFFIXES and f.is_file())
        else:
            out.append(p)
    return out


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty documents of one file, as maps."""
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


def load_objects(paths: list[str | Path]) -> list[tuple[Path, Any]]:
    """Decode every document of every file: (file, typed object) pairs."""
    return [(f, decode(doc)) for f in find_manifest_files(paths) for doc in load_documents(f)]
