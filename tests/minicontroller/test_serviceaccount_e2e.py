"""The ServiceAccounts controller and the root CA publisher against miniapiserver.

A new namespace gets its `default` ServiceAccount, and deleting it brings it back; it
also gets its `kube-root-ca.crt` ConfigMap, and an edited copy is put back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from miniapi import errors
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd")

ROOT = Path(__file__).resolve().parents[2]


async def wait_for(what: str, check, timeout: float = 30.0):
    for _ in range(int(timeout / 0.1)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


CA = "-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n"


async def root_ca_published(client: Client, ns: str) -> None:
    config_maps = client.resource(corev1.ConfigMap)

    async def data(want: str | None = None):
        try:
            cm = await config_maps.get("kube-root-ca.crt", ns)
        except errors.StatusError as e:
            assert errors.is_not_found(e)
            return None
        return cm if want is None or cm.data.get("ca.crt") == want else None

    cm = await wait_for("kube-root-ca.crt", data)
    assert cm.data == {"ca.crt": CA} and "kubernetes.io/description" in cm.metadata.annotations
    await config_maps.update(replace(cm, data={"ca.crt": "tampered"}))
    await wait_for("kube-root-ca.crt put back", lambda: data(CA))


async def scenario(kubeconfig: str) -> None:
    async with Client(load_kubeconfig(kubeconfig)) as client:
        namespaces, accounts = (
            client.resource(corev1.Namespace),
            client.resource(corev1.ServiceAccount),
        )
        ns = f"sa-{uuid.uuid4().hex[:8]}"

        async def default_sa():
            try:
                return await accounts.get("default", ns)
            except errors.StatusError as e:
                assert errors.is_not_found(e)
                return None

        await namespaces.create(corev1.Namespace(metadata=metav1.ObjectMeta(name=ns)))
        first = await wait_for("the default ServiceAccount", default_sa)
        await accounts.delete("default", ns)
        again = await wait_for(
            "a new default ServiceAccount",
            lambda: _newer(default_sa, first.metadata.uid),
        )
        assert again.metadata.name == "default"
        await root_ca_published(client, ns)


async def _newer(get, old_uid: str):
    sa = await get()
    return sa if sa is not None and sa.metadata.uid != old_uid else None


def test_every_namespace_gets_its_default_service_account(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-sa-{os.getpid()}-")[1])
    ca = Path(tempfile.mkstemp(prefix=f"minicontroller-ca-{os.getpid()}-")[1])
    ca.write_text(CA)
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig,
         "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller",
         "--root-ca-file", str(ca)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver.kubeconfig), 60))
    except BaseException:
        print(log.read_text()[-3000:])
        raise
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)
        ca.unlink(missing_ok=True)
