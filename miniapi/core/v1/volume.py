"""Pod volumes: emptyDir, hostPath, configMap, secret, projected, downwardAPI, PVC.

Mirrors k8s.io/api/core/v1/types.go (Volume, VolumeSource and the listed
sources, KeyToPath, projections). Exactly one source is set per volume.
Omitted: every cloud and network volume plugin (nfs, csi, iscsi, ...),
ephemeral volumes, image volumes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1.container import ObjectFieldSelector, ResourceFieldSelector
from miniapi.resource import Quantity

__all__ = [
    "ConfigMapProjection",
    "ConfigMapVolumeSource",
    "DownwardAPIProjection",
    "DownwardAPIVolumeFile",
    "DownwardAPIVolumeSource",
    "EmptyDirVolumeSource",
    "HostPathVolumeSource",
    "KeyToPath",
    "PersistentVolumeClaimVolumeSource",
    "ProjectedVolumeSource",
    "SecretProjection",
    "SecretVolumeSource",
    "ServiceAccountTokenProjection",
    "Volume",
    "VolumeProjection",
    "HOST_PATH_UNSET",
    "HOST_PATH_DIRECTORY_OR_CREATE",
    "HOST_PATH_DIRECTORY",
    "HOST_PATH_FILE_OR_CREATE",
    "HOST_PATH_FILE",
    "HOST_PATH_SOCKET",
    "STORAGE_MEDIUM_DEFAULT",
    "STORAGE_MEDIUM_MEMORY",
]

HOST_PATH_UNSET = ""
HOST_PATH_DIRECTORY_OR_CREATE = "DirectoryOrCreate"
HOST_PATH_DIRECTORY = "Directory"
HOST_PATH_FILE_OR_CREATE = "FileOrCreate"
HOST_PATH_FILE = "File"
HOST_PATH_SOCKET = "Socket"
STORAGE_MEDIUM_DEFAULT = ""
STORAGE_MEDIUM_MEMORY = "Memory"


class KeyToPath(Struct, frozen=True, kw_only=True):
    """Project one key of a ConfigMap or Secret to a relative path."""

    key: str = ""
    path: str = ""
    mode: int | None = None


class EmptyDirVolumeSource(Struct, frozen=True, kw_only=True):
    """A fresh directory that lives as long as the pod."""

    medium: str = ""
    size_limit: Quantity | None = None


class HostPathVolumeSource(Struct, frozen=True, kw_only=True):
    """A file or directory of the node."""

    path: str = ""
    type: str | None = None


class ConfigMapVolumeSource(Struct, frozen=True, kw_only=True):
    """A ConfigMap's keys as files."""

    name: str = ""
    items: list[KeyToPath] = []
    default_mode: int | None = None
    optional: bool | None = None


class SecretVolumeSource(Struct, frozen=True, kw_only=True):
    """A Secret's keys as files."""

    secret_name: str = ""
    items: list[KeyToPath] = []
    default_mode: int | None = None
    optional: bool | None = None


class PersistentVolumeClaimVolumeSource(Struct, frozen=True, kw_only=True):
    """A PersistentVolumeClaim in the pod's namespace."""

    claim_name: str = ""
    read_only: bool = False


class DownwardAPIVolumeFile(Struct, frozen=True, kw_only=True):
    """A file holding a pod field or a container resource."""

    path: str = ""
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: int | None = None


class DownwardAPIVolumeSource(Struct, frozen=True, kw_only=True):
    """Pod metadata as files."""

    items: list[DownwardAPIVolumeFile] = []
    default_mode: int | None = None


class ConfigMapProjection(Struct, frozen=True, kw_only=True):
    """A ConfigMap inside a projected volume."""

    name: str = ""
    items: list[KeyToPath] = []
    optional: bool | None = None


class SecretProjection(Struct, frozen=True, kw_only=True):
    """A Secret inside a projected volume."""

    name: str = ""
    items: list[KeyToPath] = []
    optional: bool | None = None


class DownwardAPIProjection(Struct, frozen=True, kw_only=True):
    """Downward API files inside a projected volume."""

    items: list[DownwardAPIVolumeFile] = []


class ServiceAccountTokenProjection(Struct, frozen=True, kw_only=True):
    """A bound service account token inside a projected volume."""

    audience: str = ""
    expiration_seconds: int | None = None
    path: str = ""


class VolumeProjection(Struct, frozen=True, kw_only=True):
    """One source of a projected volume."""

    secret: SecretProjection | None = None
    downward_api: DownwardAPIProjection | None = field(default=None, name="downwardAPI")
    config_map: ConfigMapProjection | None = None
    service_account_token: ServiceAccountTokenProjection | None = None


class ProjectedVolumeSource(Struct, frozen=True, kw_only=True):
    """Several sources merged into one directory."""

    sources: list[VolumeProjection] = []
    default_mode: int | None = None


class Volume(Struct, frozen=True, kw_only=True):
    """A named volume of a pod; exactly one source is set."""

    name: str = ""
    host_path: HostPathVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = field(default=None, name="downwardAPI")
    config_map: ConfigMapVolumeSource | None = None
    projected: ProjectedVolumeSource | None = None
