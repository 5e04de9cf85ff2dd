"""ConfigMap and Secret: configuration data mounted or injected into pods.

Mirrors k8s.io/api/core/v1/types.go (ConfigMap, Secret, ConfigMapList,
SecretList, SecretType*). Secret.data is `map[string][]byte` upstream, so
base64 on the wire and `bytes` here; stringData is write-only plain text the
API server merges into data.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = [
    "ConfigMap",
    "ConfigMapList",
    "Secret",
    "SecretList",
    "SECRET_TYPE_OPAQUE",
    "SECRET_TYPE_SERVICE_ACCOUNT_TOKEN",
    "SECRET_TYPE_DOCKER_CONFIG_JSON",
    "SECRET_TYPE_BASIC_AUTH",
    "SECRET_TYPE_SSH_AUTH",
    "SECRET_TYPE_TLS",
    "SECRET_TYPE_BOOTSTRAP_TOKEN",
]

SECRET_TYPE_OPAQUE = "Opaque"
SECRET_TYPE_SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
SECRET_TYPE_DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
SECRET_TYPE_BASIC_AUTH = "kubernetes.io/basic-auth"
SECRET_TYPE_SSH_AUTH = "kubernetes.io/ssh-auth"
SECRET_TYPE_TLS = "kubernetes.io/tls"
SECRET_TYPE_BOOTSTRAP_TOKEN = "bootstrap.kubernetes.io/token"


class ConfigMap(Struct, frozen=True, kw_only=True):
    """Non-secret key/value configuration."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    immutable: bool | None = None
    data: dict[str, str] = {}
    binary_data: dict[str, bytes] = {}


class ConfigMapList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of config maps."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ConfigMap] = []


class Secret(Struct, frozen=True, kw_only=True):
    """Sensitive key/value data."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    immutable: bool | None = None
    data: dict[str, bytes] = {}
    string_data: dict[str, str] = {}
    type: str = ""


class SecretList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of secrets."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Secret] = []
