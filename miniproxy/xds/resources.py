"""Read a folder of xDS resource files, in the form Envoy's file-based subscriptions use.

Mirrors source/extensions/config_subscription/filesystem/filesystem_subscription_impl.cc:
each file is a DiscoveryResponse in YAML or JSON (`resources:` is a list of resources, each
with its `"@type"`), parsed into the real protos so unknown fields and types are refused with
Envoy's wording. All files of the folder together form one snapshot.
"""

from __future__ import annotations

from pathlib import Path

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

from miniproxy.envoy.config import load_text, parse_dict

SUFFIXES = (".yaml", ".yml", ".json")


def resource_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def fingerprint(folder: Path) -> tuple:
    """What changes when a file is added, removed or rewritten (polled by the server)."""
    out = []
    for p in resource_files(folder):
        st = p.stat()
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_folder(folder: Path) -> list[any_pb2.Any]:
    """Every resource of every file; raises EnvoyException naming the bad file."""
    from miniproxy.envoy.config import EnvoyException

    resources: list[any_pb2.Any] = []
    for p in resource_files(folder):
        try:
            resp = parse_dict(load_text(p.read_text(), str(p)), discovery_pb2.DiscoveryResponse)
        except EnvoyException as e:
            raise EnvoyException(f"{p}: {e}") from None
        resources.extend(resp.resources)
    return resources
