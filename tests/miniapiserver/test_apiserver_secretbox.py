"""The `secretbox` encryption provider: upstream's stored form, rotation, a real etcd.

The stored form is checked against libsodium's own `crypto_secretbox` (PyNaCl's
bindings, not our transformer) as the oracle: `k8s:enc:secretbox:v1:<key>:`, the 24-byte
nonce, then the tag-first box that golang.org/x/crypto's secretbox.Seal appends. The
server run reads the raw bytes with etcdctl and opens them with the key, then rotates
from secretbox to aescbc with the secretbox key still readable.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl import bindings

from miniapiserver.storage.value import encryptionconfig, secretbox
from miniapiserver.storage.value.transformer import TransformError

from .conftest import APIServerProcess, start_etcd, stop_etcd
from .test_apiserver_encryption import AUTH, IDENTITY, KEY1, aescbc, config, etcd_value

SB_KEY = bytes(range(200, 232))
SB_SECRET = base64.b64encode(SB_KEY).decode()
PREFIX = b"k8s:enc:secretbox:v1:sb1:"


def sb_transformer(text: str):  # type: ignore[no-untyped-def]
    t = encryptionconfig.transformer_for(encryptionconfig.parse(text), "", "secrets")
    assert t is not None
    return t


def libsodium_open(stored: bytes, key: bytes) -> bytes:
    """The oracle: nonce = the 24 bytes after the prefix, the rest is crypto_secretbox_easy."""
    body = stored[len(PREFIX) :]
    return bindings.crypto_secretbox_open(body[24:], body[:24], key)


def test_stored_form_is_prefix_nonce_then_tag_first_box() -> None:
    t = sb_transformer(config(aescbc(("sb1", SB_SECRET), kind="secretbox")))
    stored = t.transform_to_storage(b'{"kind":"Secret"}', AUTH)
    assert stored.startswith(PREFIX)
    assert len(stored) == len(PREFIX) + 24 + 16 + len(b'{"kind":"Secret"}')
    assert libsodium_open(stored, SB_KEY) == b'{"kind":"Secret"}'
    assert t.transform_from_storage(stored, AUTH) == (b'{"kind":"Secret"}', False)
    # As upstream, the etcd key is not authenticated: the value opens under any key.
    assert t.transform_from_storage(stored, b"/registry/secrets/x/y") == (
        b'{"kind":"Secret"}',
        False,
    )


def test_pinned_nonce_matches_libsodium_seal() -> None:
    nonce = bytes(range(24))
    t = secretbox.SecretboxTransformer(SB_KEY, random=lambda n: nonce)
    sealed = t.transform_to_storage(b"hello", b"")
    assert sealed == nonce + bindings.crypto_secretbox(b"hello", nonce, SB_KEY)


def test_tampered_and_short_values_are_errors() -> None:
    t = secretbox.SecretboxTransformer(SB_KEY)
    stored = bytearray(t.transform_to_storage(b"abc", b""))
    stored[30] ^= 0x01
    with pytest.raises(TransformError, match="output array was not large enough"):
        t.transform_from_storage(bytes(stored), b"")
    with pytest.raises(TransformError, match="shorter than the required size"):
        t.transform_from_storage(bytes(39), b"")
    other = secretbox.SecretboxTransformer(bytes(32))
    with pytest.raises(TransformError):
        other.transform_from_storage(t.transform_to_storage(b"abc", b""), b"")


@given(data=st.binary(max_size=300), key=st.binary(min_size=32, max_size=32))
def test_secretbox_round_trips(data: bytes, key: bytes) -> None:
    t = secretbox.SecretboxTransformer(key)
    stored = t.transform_to_storage(data, AUTH)
    assert len(stored) == 24 + 16 + len(data)
    assert t.transform_from_storage(stored, AUTH) == (data, False)


def test_secretbox_takes_32_byte_keys_only() -> None:
    aes_key = base64.b64encode(bytes(16)).decode()
    with pytest.raises(ValueError) as e:
        encryptionconfig.parse(config(aescbc(("k", aes_key), kind="secretbox")))
    assert str(e.value) == (
        'resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": '
        "secret is not of the expected length, got 16, expected one of [32]"
    )


def test_rotation_between_secretbox_and_aescbc() -> None:
    old = sb_transformer(config(aescbc(("sb1", SB_SECRET), kind="secretbox")))
    rotated = sb_transformer(
        config(aescbc(("key1", KEY1)), aescbc(("sb1", SB_SECRET), kind="secretbox"))
    )
    stored = old.transform_to_storage(b"v", AUTH)
    assert rotated.transform_from_storage(stored, AUTH) == (b"v", True)  # stale: re-write
    assert rotated.transform_to_storage(b"v", AUTH).startswith(b"k8s:enc:aescbc:v1:key1:")


@pytest.mark.tool("etcd", "etcdctl", "kubectl")
def test_secrets_sealed_with_secretbox_in_real_etcd_across_rotation() -> None:
    etcd_url, etcd_proc, etcd_data = start_etcd("etcd")
    workdir = tempfile.mkdtemp(prefix=f"miniapiserver-sb-{os.getpid()}-")
    conf = Path(workdir, "encryption.yaml")
    server = None
    try:
        conf.write_text(config(aescbc(("sb1", SB_SECRET), kind="secretbox"), IDENTITY))
        server = APIServerProcess(etcd_url, workdir, ["--encryption-provider-config", str(conf)])
        server.kubectl("create", "secret", "generic", "sb", "--from-literal=k=boxed-value")
        raw = etcd_value(etcd_url, "/registry/secrets/default/sb")
        assert raw.startswith(PREFIX) and b"boxed-value" not in raw
        plain = json.loads(libsodium_open(raw, SB_KEY))
        assert plain["kind"] == "Secret" and plain["metadata"]["name"] == "sb"
        assert base64.b64decode(plain["data"]["k"]) == b"boxed-value"
        server.stop()

        conf.write_text(
            config(aescbc(("key1", KEY1)), aescbc(("sb1", SB_SECRET), kind="secretbox"))
        )
        server = APIServerProcess(etcd_url, workdir, ["--encryption-provider-config", str(conf)])
        got = json.loads(server.kubectl("get", "secret", "sb", "-o", "json").stdout)
        assert base64.b64decode(got["data"]["k"]) == b"boxed-value"
        server.kubectl("label", "secret", "sb", "rotated=yes")
        assert etcd_value(etcd_url, "/registry/secrets/default/sb").startswith(
            b"k8s:enc:aescbc:v1:key1:"
        )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        stop_etcd(etcd_proc, etcd_data)
