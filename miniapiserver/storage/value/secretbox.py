"""The `secretbox` encryption-at-rest provider: XSalsa20-Poly1305 with a 32-byte key.

Mirrors k8s.io/apiserver/pkg/storage/value/encrypt/secretbox/secretbox.go: each
write draws a random 24-byte nonce and stores it followed by NaCl's box (the
16-byte Poly1305 tag, then the ciphertext) — the layout golang.org/x/crypto's
`secretbox.Seal(nonce, ...)` produces and PyNaCl's `SecretBox.encrypt` returns. As
upstream, the etcd key is not authenticated (a value copied under another key still
opens). Nonces come from an injected `random` source (os.urandom in the server).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from miniapiserver.storage.value.transformer import TransformError

NONCE_SIZE = SecretBox.NONCE_SIZE  # 24
OVERHEAD = SecretBox.MACBYTES  # 16
KEY_SIZE = SecretBox.KEY_SIZE  # 32


class SecretboxTransformer:
    def __init__(self, key: bytes, random: Callable[[int], bytes] = os.urandom) -> None:
        self.box = SecretBox(key)
        self.random = random

    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]:
        if len(data) < OVERHEAD + NONCE_SIZE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            plain = self.box.decrypt(data[NONCE_SIZE:], data[:NONCE_SIZE])
        except CryptoError:
            # upstream's text for a failed secretbox.Open
            raise TransformError("output array was not large enough for encryption") from None
        return plain, False

    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes:
        nonce = self.random(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise TransformError("unable to read sufficient random bytes")
        return bytes(self.box.encrypt(data, nonce))
