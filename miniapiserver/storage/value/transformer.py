"""Prefix transformers: the first one writes, whichever prefix matches reads.

Mirrors k8s.io/apiserver/pkg/storage/value/transformer.go (Transformer,
PrefixTransformer, NewPrefixTransformers: stored bytes carry the prefix of the
transformer that wrote them, so several keys and providers can be read at once
while only the first writes; a read through any but the first is "stale" and the
store re-writes the object on its next update) and the identity provider of
apiserver/pkg/server/options/encryptionconfig/config.go (which refuses to read bytes
that are encrypted). The authenticated data is the object's etcd key, as upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ENCRYPTED_PREFIX = b"k8s:enc:"


class TransformError(Exception):
    """Stored bytes that no configured transformer can read."""


class Transformer(Protocol):
    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]: ...
    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes: ...


class Identity:
    """The identity provider: plaintext in and out; encrypted bytes are an error."""

    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data, False

    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes:
        return data


@dataclass(frozen=True)
class PrefixTransformer:
    prefix: bytes
    transformer: Transformer


class PrefixTransformers:
    """NewPrefixTransformers: write with the first, read with the first whose prefix matches."""

    def __init__(self, transformers: list[PrefixTransformer]) -> None:
        if not transformers:
            raise ValueError("at least one transformer is required")
        self.transformers = transformers

    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]:
        for i, t in enumerate(self.transformers):
            if not data.startswith(t.prefix):
                continue
            try:
                plain, stale = t.transformer.transform_from_storage(
                    data[len(t.prefix) :], authenticated
                )
            except TransformError:
                if not t.prefix:  # identity matches everything: let a later prefix try
                    continue
                raise
            return plain, stale or i != 0
        raise TransformError("no matching prefix found")

    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes:
        first = self.transformers[0]
        return first.prefix + first.transformer.transform_to_storage(data, authenticated)
