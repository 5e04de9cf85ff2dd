"""--encryption-provider-config: an EncryptionConfiguration file into transformers.

Mirrors k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go
(LoadEncryptionConfig, prefixTransformers: each key of each provider becomes a
prefix `k8s:enc:<provider>:v1:<key name>:`, identity the empty prefix; the first
key of the first provider writes) and the checks of
apiserver/pkg/apis/apiserver/validation (key names, base64 secrets of 16, 24 or 32
bytes, one provider per list element). Resources are matched as upstream: `secrets`,
`deployments.apps`, `*.apps`, `*.` (the core group) or `*.*`; the first entry that
names a resource decides. `secretbox` (XSalsa20-Poly1305, secretbox.py) takes
32-byte keys only. Omitted: `kms`, automatic reload of the file.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from miniapiserver.storage.value import aes, secretbox
from miniapiserver.storage.value.transformer import (
    Identity,
    PrefixTransformer,
    PrefixTransformers,
    Transformer,
)

API_VERSION = "apiserver.config.k8s.io/v1"
AES_KEY_SIZES = (16, 24, 32)
SECRETBOX_KEY_SIZES = (secretbox.KEY_SIZE,)
# provider name -> (its transformer for one key, the key sizes validation accepts)
KEYED_PROVIDERS: dict[str, tuple[Callable[[bytes], Transformer], tuple[int, ...]]] = {
    "aescbc": (aes.CBCTransformer, AES_KEY_SIZES),
    "aesgcm": (aes.GCMTransformer, AES_KEY_SIZES),
    "secretbox": (secretbox.SecretboxTransformer, SECRETBOX_KEY_SIZES),
}


@dataclass(frozen=True)
class ResourceTransformer:
    resources: tuple[str, ...]
    transformer: PrefixTransformers

    def matches(self, group: str, resource: str) -> bool:
        qualified = f"{resource}.{group}" if group else resource
        return any(r in (qualified, "*.*", f"*.{group}") for r in self.resources)


def _keys(provider: str, config: dict, path: str) -> list[PrefixTransformer]:
    keys = config.get("keys") or []
    if not keys:
        raise ValueError(f"{path}.keys: Required value")
    out = []
    for i, key in enumerate(keys):
        kpath = f"{path}.keys[{i}]"
        name = key.get("name") or ""
        if not name:
            raise ValueError(f"{kpath}.name: Required value")
        try:
            secret = base64.b64decode(key.get("secret") or "", validate=True)
        except binascii.Error:
            raise ValueError(
                f'{kpath}.secret: Invalid value: "REDACTED": secrets must be base64 encoded'
            ) from None
        new_transformer, sizes = KEYED_PROVIDERS[provider]
        if len(secret) not in sizes:
            raise ValueError(
                f'{kpath}.secret: Invalid value: "REDACTED": secret is not of the expected '
                f"length, got {len(secret)}, expected one of [{' '.join(map(str, sizes))}]"
            )
        prefix = f"k8s:enc:{provider}:v1:{name}:".encode()
        out.append(PrefixTransformer(prefix, new_transformer(secret)))
    return out


def _provider(entry: dict, path: str) -> list[PrefixTransformer]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(
            f"{path}: Invalid value: more than one provider specified in a single element, "
            "should split into different list elements"
        )
    ((kind, config),) = entry.items()
    if kind == "identity":
        return [PrefixTransformer(b"", Identity())]
    if kind in KEYED_PROVIDERS:
        return _keys(kind, config or {}, f"{path}.{kind}")
    raise ValueError(f'{path}: Unsupported value: "{kind}": supported values: '
                     '"aescbc", "aesgcm", "identity", "secretbox"')  # fmt: skip


def parse(text: str) -> list[ResourceTransformer]:
    """The transformers of an EncryptionConfiguration document, in file order."""
    doc = yaml.safe_load(text) or {}
    if doc.get("kind") != "EncryptionConfiguration" or doc.get("apiVersion") != API_VERSION:
        raise ValueError(
            f"got unexpected config type: {doc.get('apiVersion')}, Kind={doc.get('kind')}"
        )
    out = []
    for i, item in enumerate(doc.get("resources") or []):
        path = f"resources[{i}]"
        names = tuple(item.get("resources") or ())
        if not names:
            raise ValueError(f"{path}.resources: Required value")
        providers = item.get("providers") or []
        if not providers:
            raise ValueError(f"{path}.providers: Required value")
        prefixes = [
            pt for j, p in enumerate(providers) for pt in _provider(p, f"{path}.providers[{j}]")
        ]
        out.append(ResourceTransformer(names, PrefixTransformers(prefixes)))
    return out


def load(path: str | Path) -> list[ResourceTransformer]:
    return parse(Path(path).read_text())


def transformer_for(
    config: list[ResourceTransformer], group: str, resource: str
) -> PrefixTransformers | None:
    for entry in config:
        if entry.matches(group, resource):
            return entry.transformer
    return None
