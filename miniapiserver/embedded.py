"""The embedded store: a single-member miniraft inside the API server's process.

Mirrors what `kube-apiserver` never does but local-up-cluster and kind do for
it (start an etcd next to the API server), done in process so that
`python -m miniapiserver` works on a fresh machine: miniraft's
embed.Etcd.start with its data under <data-dir>/etcd and loopback URLs whose
ports are kept in <data-dir>/etcd/ports so a restart finds its member again.
"""

from __future__ import annotations

import socket
from pathlib import Path

from miniraft.server.embed import Etcd
from miniraft.server.etcdserver.config import ServerConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports(directory: Path) -> tuple[int, int]:
    record = directory / "ports"
    if record.exists():
        client, peer = record.read_text().split()
        return int(client), int(peer)
    directory.mkdir(parents=True, exist_ok=True)
    client, peer = _free_port(), _free_port()
    record.write_text(f"{client} {peer}\n")
    return client, peer


async def start(data_dir: Path) -> tuple[Etcd, str]:
    """Start the member; returns it and its client URL."""
    directory = data_dir / "etcd"
    client, peer = _ports(directory)
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    cfg = ServerConfig(
        name="default",
        data_dir=str(directory),
        listen_client_urls=[client_url],
        advertise_client_urls=[client_url],
        listen_peer_urls=[peer_url],
        initial_advertise_peer_urls=[peer_url],
    )
    return await Etcd.start(cfg), client_url
