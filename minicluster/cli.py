"""`up`, `down` and `status`: the user's side of the supervisor.

Mirrors kind's cmd/kind/app (create cluster: a status line with a check mark per step,
then "Set kubectl context..." and how to use it; delete cluster; get nodes). `up` starts
the supervisor in its own session (so it outlives the terminal), then narrates its
progress file until the nodes are Ready or it reports an error, in which case `up`
removes whatever was made and exits 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from minicluster import cleanup, state
from minicluster.state import Options, State

UP_TIMEOUT = 300.0
HOLLOW_NODE_UP_SECONDS = 0.6  # each hollow node adds to the wait (the supervisor's 0.5 + slack)
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-dns")
console = Console(highlight=False, soft_wrap=True)


def running(opts: Options) -> State | None:
    st = state.load(opts.data_dir, opts.name)
    return st if st is not None and state.pid_alive(st.supervisor_pid) else None


def spawn_supervisor(opts: Options) -> subprocess.Popen:
    root = state.cluster_dir(opts.data_dir, opts.name)
    log = (root / "supervisor.log").open("ab")
    repo = str(Path(__file__).resolve().parents[1])
    argv = [sys.executable, "-m", "minicluster", "supervise", "--name", opts.name,
            "--data-dir", str(Path(opts.data_dir).resolve())]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=repo,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": repo})  # fmt: skip
    log.close()
    return proc


def narrate(opts: Options, proc: subprocess.Popen, timeout: float) -> str:
    """Print each progress event as it comes; returns "" when Ready, else the error."""
    path = state.cluster_dir(opts.data_dir, opts.name) / "progress.jsonl"
    seen, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        for line in lines[seen:]:
            event = json.loads(line)
            if "error" in event:
                return event["error"]
            if event.get("ready"):
                return ""
            if "step" in event:
                took = f"{event.get('seconds', 0):>5.1f}s"
                console.print(f" [green]✓[/] {event['step']:<44} [dim]{took}  {event['detail']}[/]")
        seen = len(lines)
        if proc.poll() is not None:
            return f"the supervisor exited with code {proc.returncode}"
        time.sleep(0.2)
    return f"the cluster was not Ready after {timeout:.0f}s"


def publish_kubeconfig(opts: Options, st: State) -> Path:
    """Copy the cluster's kubeconfig to <data-dir>/kubeconfig, remembering whose it is."""
    data_dir = Path(opts.data_dir).resolve()
    shared = data_dir / "kubeconfig"
    shutil.copyfile(st.kubeconfig, shared)
    shared.chmod(0o600)
    (data_dir / ".kubeconfig-owner").write_text(str(state.cluster_dir(opts.data_dir, opts.name)))
    return shared


def up(opts: Options, timeout: float = UP_TIMEOUT) -> int:
    if os.geteuid() != 0:
        console.print("[red]✗[/] minicluster up needs root (network namespaces, mounts)")
        return 1
    if running(opts):
        console.print(f'[red]✗[/] cluster "{opts.name}" is already up (minicluster down first)')
        return 1
    if state.cluster_dir(opts.data_dir, opts.name).exists():
        cleanup.down(opts.data_dir, opts.name)  # leftovers of a crashed `up`
    started = time.monotonic()
    console.print(f'Creating cluster "{opts.name}" ({opts.nodes} nodes, {opts.runtime}, '
                  f"{'one process per component' if opts.processes else 'embedded control plane'}) ...")  # fmt: skip
    state.save(State(opts))
    proc = spawn_supervisor(opts)
    try:
        error = narrate(opts, proc, timeout + HOLLOW_NODE_UP_SECONDS * opts.hollow_nodes)
    except KeyboardInterrupt:
        error = "interrupted"
    if error:
        console.print(f"[red]✗[/] {error}")
        log = state.cluster_dir(opts.data_dir, opts.name) / "supervisor.log"
        if log.exists():
            console.print("[dim]" + "\n".join(log.read_text().splitlines()[-15:]) + "[/]")
        cleanup.down(opts.data_dir, opts.name)
        return 1
    st = state.load(opts.data_dir, opts.name)
    assert st is not None
    if not st.dns:
        console.print(" [yellow]![/] cluster DNS is not available: reach Services by ClusterIP")
    shared = publish_kubeconfig(opts, st)
    console.print(f"Cluster up in {time.monotonic() - started:.1f}s. Use it with:\n\n"
                  f"  export KUBECONFIG={shared}\n  kubectl get nodes -o wide\n")  # fmt: skip
    return 0


def down(opts: Options) -> int:
    found = cleanup.down(opts.data_dir, opts.name)
    what = ", ".join(found) if found else "nothing was left"
    console.print(f' [green]✓[/] cluster "{opts.name}" deleted ({what})')
    return 0


def status(opts: Options) -> int:
    st = state.load(opts.data_dir, opts.name)
    if st is None:
        console.print(f'cluster "{opts.name}" is not up (no state under {opts.data_dir})')
        return 1
    table = Table("component", "pid", "address")
    sup = st.supervisor_pid
    table.add_row("supervisor", _pid(sup), "")
    for name, address in st.addresses.items():
        key = name.split(" ")[0]
        pids = [p for n, p in st.pids.items() if n == key or n.startswith(f"{key}")]
        in_sup = not pids and name.startswith(CONTROL_PLANE)
        where = f"in {sup}" if in_sup else ", ".join(_pid(p) for p in pids)
        table.add_row(name, where, address)
    for name, pid in st.pids.items():
        if name.startswith(("kubelet-", "kube-proxy-", "hollow")):
            table.add_row(name, _pid(pid), "")
    console.print(table)
    if st.kubeconfig and state.pid_alive(sup):
        asyncio.run(_print_nodes_and_pods(st.kubeconfig))
    return 0


def _pid(pid: int) -> str:
    return f"{pid} {'✓' if state.pid_alive(pid) else '✗'}"


async def _print_nodes_and_pods(kubeconfig: str) -> None:
    from miniclient.kubeconfig import load_kubeconfig
    from miniclient.rest import Client
    from minicluster.bootstrap import node_ready

    async with Client(load_kubeconfig(kubeconfig)) as c:
        nodes = (await c.request("GET", "/api/v1/nodes"))["items"]
        pods = (await c.request("GET", "/api/v1/pods"))["items"]
    table = Table("node", "status", "podCIDR", "pods")
    for n in nodes:
        name = n["metadata"]["name"]
        count = sum(1 for p in pods if p["spec"].get("nodeName") == name)
        status_text = "Ready" if node_ready(n) else "NotReady"
        table.add_row(name, status_text, n["spec"].get("podCIDR", ""), str(count))
    console.print(table)
    table = Table("namespace", "pod", "phase", "node", "IP")
    for p in pods:
        m, s = p["metadata"], p.get("status", {})
        table.add_row(m["namespace"], m["name"], s.get("phase", ""), p["spec"].get("nodeName", ""),
                      s.get("podIP", ""))  # fmt: skip
    console.print(table)
