"""Encryption at rest: the AES transformers, the EncryptionConfiguration, and a real etcd.

The transformers are checked for upstream's stored form (`k8s:enc:aescbc:v1:<key>:` +
IV + ciphertext), key rotation (every key reads, the first writes, older reads are
stale) and tampering; the server is checked with etcdctl reading the raw bytes under
/registry/secrets while kubectl reads the plaintext, across a key rotation.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapiserver.storage.value import aes, encryptionconfig
from miniapiserver.storage.value.transformer import (
    Identity,
    PrefixTransformer,
    PrefixTransformers,
    TransformError,
)

from .conftest import APIServerProcess, start_etcd, stop_etcd

KEY1 = base64.b64encode(bytes(range(32))).decode()
KEY2 = base64.b64encode(bytes(range(100, 116))).decode()
AUTH = b"/registry/secrets/default/s"


def config(*providers: str, resources: str = "[secrets]") -> str:
    body = "\n".join(providers)
    return (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        f"resources:\n- resources: {resources}\n  providers:\n{body}\n"
    )


def aescbc(*keys: tuple[str, str], kind: str = "aescbc") -> str:
    lines = [f"  - {kind}:", "      keys:"]
    for name, secret in keys:
        lines += [f"      - name: {name}", f"        secret: {secret}"]
    return "\n".join(lines)


IDENTITY = "  - identity: {}"


def secrets_transformer(text: str) -> PrefixTransformers:
    t = encryptionconfig.transformer_for(encryptionconfig.parse(text), "", "secrets")
    assert t is not None
    return t


def test_cbc_stored_form_is_prefix_iv_and_padded_blocks() -> None:
    t = secrets_transformer(config(aescbc(("key1", KEY1)), IDENTITY))
    stored = t.transform_to_storage(b'{"kind":"Secret"}', AUTH)  # 17 bytes: two blocks
    assert stored.startswith(b"k8s:enc:aescbc:v1:key1:")
    assert len(stored) == len(b"k8s:enc:aescbc:v1:key1:") + 16 + 32
    assert t.transform_from_storage(stored, AUTH) == (b'{"kind":"Secret"}', False)
    # identity (second) still reads what was stored before encryption was turned on
    assert t.transform_from_storage(b'{"kind":"Secret"}', AUTH) == (b'{"kind":"Secret"}', True)


def test_gcm_binds_the_value_to_its_key() -> None:
    t = secrets_transformer(config(aescbc(("g", KEY1), kind="aesgcm")))
    stored = t.transform_to_storage(b"data", AUTH)
    assert stored.startswith(b"k8s:enc:aesgcm:v1:g:")
    assert t.transform_from_storage(stored, AUTH) == (b"data", False)
    with pytest.raises(TransformError):  # copied under another key: does not decrypt
        t.transform_from_storage(stored, b"/registry/secrets/other/s")


def test_rotation_reads_every_key_and_writes_the_first() -> None:
    old = secrets_transformer(config(aescbc(("key1", KEY1))))
    rotated = secrets_transformer(config(aescbc(("key2", KEY2), ("key1", KEY1))))
    stored = old.transform_to_storage(b"v", AUTH)
    assert rotated.transform_from_storage(stored, AUTH) == (b"v", True)  # stale: re-write
    assert rotated.transform_to_storage(b"v", AUTH).startswith(b"k8s:enc:aescbc:v1:key2:")
    only_new = secrets_transformer(config(aescbc(("key2", KEY2))))
    with pytest.raises(TransformError, match="no matching prefix found"):
        only_new.transform_from_storage(stored, AUTH)
    # identity refuses encrypted bytes; as the last reader left, that is "no matching prefix"
    with pytest.raises(TransformError, match="identity transformer tried to read encrypted data"):
        Identity().transform_from_storage(stored, AUTH)
    identity = secrets_transformer(config(IDENTITY))
    with pytest.raises(TransformError, match="no matching prefix found"):
        identity.transform_from_storage(stored, AUTH)


def test_tampered_cbc_padding_is_an_error() -> None:
    t = aes.CBCTransformer(bytes(16), random=lambda n: bytes(n))
    stored = bytearray(t.transform_to_storage(b"abc", b""))
    stored[-1] ^= 0xFF
    with pytest.raises(TransformError):
        t.transform_from_storage(bytes(stored), b"")
    with pytest.raises(TransformError, match="multiple of the block size"):
        t.transform_from_storage(bytes(stored[:-1]), b"")


@given(data=st.binary(max_size=200), key=st.binary(min_size=32, max_size=32))
def test_aes_round_trips(data: bytes, key: bytes) -> None:
    for cls in (aes.CBCTransformer, aes.GCMTransformer):
        t = PrefixTransformers(
            [PrefixTransformer(b"p:", cls(key)), PrefixTransformer(b"", Identity())]
        )
        assert t.transform_from_storage(t.transform_to_storage(data, AUTH), AUTH) == (data, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (config(aescbc(("k", base64.b64encode(b"short").decode()))),
         'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is '
         "not of the expected length, got 5, expected one of [16 24 32]"),
        (config(aescbc(("k", "not base64!"))), "secrets must be base64 encoded"),
        (config(aescbc(("", KEY1))), "resources[0].providers[0].aescbc.keys[0].name: Required value"),
        (config("  - secretbox: {keys: []}"), "resources[0].providers[0].secretbox.keys: Required value"),
        (config("  - kms: {name: k}"), 'Unsupported value: "kms"'),
        ("apiVersion: v1\nkind: Pod\n", "got unexpected config type"),
    ],
)  # fmt: skip
def test_bad_configurations_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        encryptionconfig.parse(text)
    assert message in str(e.value)


def test_resource_matching_as_upstream() -> None:
    parsed = encryptionconfig.parse(
        config(aescbc(("k", KEY1)), resources="[configmaps, deployments.apps, '*.batch']")
    )
    assert encryptionconfig.transformer_for(parsed, "", "configmaps") is not None
    assert encryptionconfig.transformer_for(parsed, "apps", "deployments") is not None
    assert encryptionconfig.transformer_for(parsed, "batch", "jobs") is not None
    assert encryptionconfig.transformer_for(parsed, "", "secrets") is None
    everything = encryptionconfig.parse(config(IDENTITY, resources="['*.*']"))
    assert encryptionconfig.transformer_for(everything, "rbac.authorization.k8s.io", "roles")


# ---- the server over a real etcd 3.4 ----


def etcd_value(url: str, key: str) -> bytes:
    out = subprocess.run(
        ["etcdctl", "--endpoints", url, "get", key, "-w", "json"],
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        timeout=30,
        check=True,
    )
    # JSON output carries the value base64-encoded: the exact bytes, even a trailing "\n".
    return base64.b64decode(json.loads(out.stdout)["kvs"][0]["value"])


def secret_value(server: APIServerProcess, name: str) -> str:
    out = json.loads(server.kubectl("get", "secret", name, "-o", "json").stdout)
    return base64.b64decode(out["data"]["k"]).decode()


@pytest.mark.tool("etcd", "etcdctl", "kubectl")
def test_secrets_encrypted_in_etcd_and_readable_across_rotation() -> None:
    etcd_url, etcd_proc, etcd_data = start_etcd("etcd")
    workdir = tempfile.mkdtemp(prefix=f"miniapiserver-enc-{os.getpid()}-")
    conf = Path(workdir, "encryption.yaml")
    server = None
    try:
        conf.write_text(config(aescbc(("key1", KEY1)), IDENTITY))
        server = APIServerProcess(etcd_url, workdir, ["--encryption-provider-config", str(conf)])
        server.kubectl("create", "secret", "generic", "s1", "--from-literal=k=plain-one")
        server.kubectl("create", "configmap", "c1", "--from-literal=k=visible")
        raw = etcd_value(etcd_url, "/registry/secrets/default/s1")
        assert raw.startswith(b"k8s:enc:aescbc:v1:key1:") and b"plain-one" not in raw
        assert b'"visible"' in etcd_value(etcd_url, "/registry/configmaps/default/c1")
        assert secret_value(server, "s1") == "plain-one"
        server.stop()

        # Rotate: key2 first (writes), key1 still read.
        conf.write_text(config(aescbc(("key2", KEY2), ("key1", KEY1)), IDENTITY))
        server = APIServerProcess(etcd_url, workdir, ["--encryption-provider-config", str(conf)])
        assert secret_value(server, "s1") == "plain-one"
        server.kubectl("create", "secret", "generic", "s2", "--from-literal=k=plain-two")
        assert etcd_value(etcd_url, "/registry/secrets/default/s2").startswith(
            b"k8s:enc:aescbc:v1:key2:"
        )
        # Re-writing the old secret (what `kubectl replace` over all secrets does) moves it to key2.
        server.kubectl("label", "secret", "s1", "rotated=yes")
        assert etcd_value(etcd_url, "/registry/secrets/default/s1").startswith(
            b"k8s:enc:aescbc:v1:key2:"
        )
        assert secret_value(server, "s1") == "plain-one"
        listed = json.loads(server.kubectl("get", "secrets", "-o", "json").stdout)
        assert {"s1", "s2"} <= {i["metadata"]["name"] for i in listed["items"]}
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        stop_etcd(etcd_proc, etcd_data)
