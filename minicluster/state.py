"""What `up` made, written down so that `down` and `status` can find it again.

Plays the part of kind's container labels (io.x-k8s.kind.cluster=NAME: how `kind delete
cluster` finds the nodes): here a JSON file under <data-dir>/<name>/ records the options,
the topology's subnet index, and every process id, and a progress file narrates `up`.
Writes are atomic (write, then rename) so a crash never leaves half a state.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Options:
    name: str = "mc"
    nodes: int = 2
    runtime: str = "minicontainer"
    etcd_members: int = 1
    hollow_nodes: int = 0
    processes: bool = False
    data_dir: str = ".minicloud"


@dataclass
class State:
    options: Options
    subnet_index: int = -1
    supervisor_pid: int = 0
    pids: dict[str, int] = field(default_factory=dict)  # component -> pid
    addresses: dict[str, str] = field(default_factory=dict)  # component -> address
    api_url: str = ""
    kubeconfig: str = ""
    host_routes: list[str] = field(default_factory=list)
    ready: bool = False
    dns: bool = False


def cluster_dir(data_dir: str, name: str) -> Path:
    return Path(data_dir).resolve() / name


def state_path(data_dir: str, name: str) -> Path:
    return cluster_dir(data_dir, name) / "state.json"


def save(state: State) -> None:
    path = state_path(state.options.data_dir, state.options.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def load(data_dir: str, name: str) -> State | None:
    path = state_path(data_dir, name)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    raw["options"] = Options(**raw["options"])
    return State(**raw)


def progress(data_dir: str, name: str, **event: Any) -> None:
    """One line of `up`'s story: {"step": ..., "detail": ...} or {"error": ...}."""
    path = cluster_dir(data_dir, name) / "progress.jsonl"
    with path.open("a") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
