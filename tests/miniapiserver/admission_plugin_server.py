"""One miniapiserver (over a real etcd) with the Priority and NodeRestriction plugins, shared.

test_apiserver_priority.py and test_apiserver_noderestriction.py need a server started
with --enable-admission-plugins (off by default) and token users for two kubelets;
test_apiserver_crd_conversion.py and test_apiserver_builtin_versions.py need any server and
its etcd (to read the stored bytes). One process serves the four modules and stops at the
end of the session (config.add_cleanup).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from miniapiserver.auth import certs

from .conftest import APIServerProcess, start_etcd, stop_etcd

FLAGS = ["--enable-admission-plugins=Priority,NodeRestriction"]


@dataclass
class PluginServer:
    proc: APIServerProcess
    etcd_url: str
    node_a: str
    node_b: str
    tokens: dict[str, str]  # "a", "b", "bad" (system:node: with no name) -> bearer token


_shared: list[PluginServer] = []


def plugin_server(config: pytest.Config) -> PluginServer:
    """The session's server, started on first use."""
    if _shared:
        return _shared[0]
    url, etcd, data = start_etcd("etcd")
    workdir = tempfile.mkdtemp(prefix=f"h13-admission-plugins-{os.getpid()}-")

    def cleanup() -> None:
        if _shared:
            _shared[0].proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        stop_etcd(etcd, data)

    config.add_cleanup(cleanup)
    creds = certs.generate(Path(workdir, "pki"))
    node_a, node_b = f"na-{uuid.uuid4().hex[:5]}", f"nb-{uuid.uuid4().hex[:5]}"
    tokens = {k: uuid.uuid4().hex for k in ("a", "b", "bad")}
    token_file = Path(workdir, "tokens.csv")
    token_file.write_text(
        f'{creds.token},admin,admin,"system:masters"\n'
        f'{tokens["a"]},system:node:{node_a},na,"system:nodes"\n'
        f'{tokens["b"]},system:node:{node_b},nb,"system:nodes"\n'
        f'{tokens["bad"]},system:node:,n0,"system:nodes"\n'
    )
    proc = APIServerProcess(url, workdir, [*FLAGS, "--token-auth-file", str(token_file)])
    _shared.append(PluginServer(proc, url, node_a, node_b, tokens))
    return _shared[0]
