"""AES transformers: the `aescbc` and `aesgcm` encryption-at-rest providers.

Mirrors k8s.io/apiserver/pkg/storage/value/encrypt/aes/aes.go: GCM writes a random
12-byte nonce followed by the sealed bytes, with the object's etcd key as
additional authenticated data (a value copied under another key does not decrypt);
CBC writes a random 16-byte IV followed by the PKCS#7-padded ciphertext. Nonces and
IVs come from an injected `random` source (os.urandom in the server) so tests can
pin them. Omitted: the extended-nonce GCM of KMS v2 and the nonce-count limits.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniapiserver.storage.value.transformer import TransformError

BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16


class GCMTransformer:
    def __init__(self, key: bytes, random: Callable[[int], bytes] = os.urandom) -> None:
        self.aead = AESGCM(key)
        self.random = random

    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]:
        if len(data) < GCM_NONCE_SIZE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            plain = self.aead.decrypt(data[:GCM_NONCE_SIZE], data[GCM_NONCE_SIZE:], authenticated)
        except InvalidTag:
            raise TransformError("cipher: message authentication failed") from None
        return plain, False

    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes:
        nonce = self.random(GCM_NONCE_SIZE)
        return nonce + self.aead.encrypt(nonce, data, authenticated)


class CBCTransformer:
    def __init__(self, key: bytes, random: Callable[[int], bytes] = os.urandom) -> None:
        self.algorithm = algorithms.AES(key)
        self.random = random

    def transform_from_storage(self, data: bytes, authenticated: bytes) -> tuple[bytes, bool]:
        if len(data) < BLOCK_SIZE:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:BLOCK_SIZE], data[BLOCK_SIZE:]
        if len(body) % BLOCK_SIZE != 0:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self.algorithm, modes.CBC(iv)).decryptor()
        plain = decryptor.update(body) + decryptor.finalize()
        pad = plain[-1] if plain else 0
        if pad == 0 or pad > BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
            raise TransformError("invalid PKCS7 data (empty or not padded)")
        return plain[:-pad], False

    def transform_to_storage(self, data: bytes, authenticated: bytes) -> bytes:
        pad = BLOCK_SIZE - len(data) % BLOCK_SIZE
        iv = self.random(BLOCK_SIZE)
        encryptor = Cipher(self.algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
