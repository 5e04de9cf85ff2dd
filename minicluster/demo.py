"""`python -m minicluster demo`: a workload's life on the toy cluster, narrated.

The story of the Kubernetes basics tutorial (deploy, expose, scale, update) plus the
operator's side (a pod killed, a node drained), told with kubectl against our cluster:
every command is printed as the learner would type it. Requests come from a client pod
through the kubelet's /run endpoint (the job `kubectl exec` does upstream), by the
Service's DNS name when the cluster DNS is up, else by its ClusterIP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from rich.console import Console

from minicluster import cli, state
from minicluster.state import Options

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "demo"
console = Console(highlight=False, soft_wrap=True)


class DemoError(Exception):
    """A step did not reach its expected state in time."""


class Demo:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.kubeconfig = str(Path(opts.data_dir) / "kubeconfig")
        self.url = "http://web/"

    # -- tools ------------------------------------------------------------------
    def kubectl(self, *args: str, show: bool = True, timeout: float = 150) -> str:
        if show:
            console.print(f"[bold cyan]$ kubectl {' '.join(args)}[/]")
        out = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args],
                             capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if out.returncode != 0:
            raise DemoError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
        if show and out.stdout.strip():
            console.print(f"[dim]{out.stdout.rstrip()}[/]")
        return out.stdout

    def explain(self, pod: str) -> None:
        """The scheduler's reasons: minischeduler replays the pod's attempt on the live nodes."""
        argv = [sys.executable, "-m", "minischeduler", "explain", "--kubeconfig",
                self.kubeconfig, f"default/{pod}"]  # fmt: skip
        console.print(f"[bold cyan]$ python -m minischeduler explain default/{pod}[/]")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        console.print(f"[dim]{(out.stdout or out.stderr).rstrip()}[/]")

    def get(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json", show=False))

    def web_pods(self) -> list[dict]:
        items = self.get("pods", "-l", "app=web")["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def node_ip(self, node: str) -> str:
        addrs = self.get("node", node)["status"]["addresses"]
        return next(a["address"] for a in addrs if a["type"] == "InternalIP")

    def run_in_client(self, script: str, timeout: float = 70) -> tuple[int, str]:
        """POST /run/default/client/client?cmd=sh&cmd=-c&cmd=SCRIPT on the client's kubelet."""
        ip = self.node_ip(self.get("pod", "client")["spec"]["nodeName"])
        query = urllib.parse.urlencode([("cmd", "sh"), ("cmd", "-c"), ("cmd", script)])
        req = urllib.request.Request(f"http://{ip}:10250/run/default/client/client?{query}",
                                     method="POST")  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def ask(self, count: int, pause: float = 0.2) -> list[str]:
        """`count` requests from the client pod; each answer "<version> <pod>" or "FAIL"."""
        loop = (f"i=0; while [ $i -lt {count} ]; do timeout 3 wget -q -O- {self.url} "
                f"|| echo FAIL; i=$((i+1)); sleep {pause}; done")  # fmt: skip
        _, out = self.run_in_client(loop)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def wait(self, what: str, check, timeout: float = 120.0):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        with console.status(what):
            while time.monotonic() < deadline:
                got = check()
                if got:
                    return got
                time.sleep(0.5)
        raise DemoError(f"timed out after {timeout:.0f}s: {what}")

    def ready_web(self, count: int) -> list[dict]:
        def check() -> list[dict] | None:
            pods = self.web_pods()
            ready = [p for p in pods if _ready(p)]
            return ready if len(ready) == count == len(pods) else None

        return self.wait(f"waiting for {count} web pods to be Ready", check)

    def show_answers(self, answers: list[str], where: dict[str, str]) -> None:
        for pod, n in Counter(answers).most_common():
            console.print(f"   {n:>3} x {pod:<36} [dim]{where.get(pod.split()[-1], '')}[/]")

    @staticmethod
    def say(title: str) -> None:
        console.rule(f"[bold]{title}")

    # -- the story ----------------------------------------------------------------
    def deploy(self) -> None:
        self.say("1. A Deployment of 3 busybox httpd pods, a Service, a client pod")
        self.kubectl("apply", "-f", str(EXAMPLES))
        self.ready_web(3)
        self.wait("waiting for the client pod", lambda: _ready(self.get("pod", "client")))
        self.kubectl("get", "pods", "-o", "wide")
        console.print("The scheduler's decisions, from the events it recorded:")
        events = self.get("events", "--field-selector", "reason=Scheduled")["items"]
        for e in events:
            console.print(f"   [green]Scheduled[/] {e['message']}")
        self.explain(sorted(_names(self.web_pods()))[0])

    def reach(self) -> None:
        st = state.load(self.opts.data_dir, self.opts.name)
        if st is None or not st.dns:
            self.url = f"http://{self.get('service', 'web')['spec']['clusterIP']}/"
        self.say(f"2. From the client pod, wget {self.url} (kube-proxy picks a pod at random)")
        where = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in self.web_pods()}
        answers = self.ask(12)
        self.show_answers(answers, where)
        pods = {a.split()[-1] for a in answers if a != "FAIL"}
        if len(pods) < 2 or "FAIL" in answers:
            raise DemoError(f"expected answers from several pods, got {answers}")

    def kill_one(self) -> None:
        self.say("3. A pod is killed: the ReplicaSet controller replaces it")
        before = _names(self.web_pods())
        victim = sorted(before)[0]
        self.kubectl("delete", "pod", victim, "--wait=false")
        self.wait("waiting for the replacement", lambda: victim not in _names(self.web_pods()))
        pods = self.ready_web(3)
        new = ", ".join(sorted(_names(pods) - before))
        console.print(f"   [red]{victim}[/] was replaced by [green]{new}[/]")

    def scale(self) -> None:
        self.say("4. Scale up to 5 replicas")
        self.kubectl("scale", "deployment/web", "--replicas=5")
        self.ready_web(5)
        self.kubectl("get", "pods", "-l", "app=web", "-o", "wide")

    def rolling_update(self) -> None:
        self.say("5. Rolling update v1 -> v2 while the client keeps asking")
        self.kubectl("set", "env", "deployment/web", "VERSION=v2")
        total: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            answers = self.ask(15)
            total += answers
            versions = Counter(a.split()[0] for a in answers)
            console.print(f"   {len(answers)} requests: " + ", ".join(
                f"{v} x{n}" for v, n in sorted(versions.items())))  # fmt: skip
            pods = self.web_pods()
            done = len(pods) == 5 and all(_ready(p) and _version(p) == "v2" for p in pods)
            if done and all(a.startswith("v2") for a in answers):
                break
        failed = total.count("FAIL")
        console.print(f"   [bold]{len(total)} requests during the rollout, {failed} failed[/]")
        if failed or not total or not total[-1].startswith("v2"):
            raise DemoError(f"the rollout lost {failed} requests or did not finish")

    def drain(self) -> None:
        client_node = self.get("pod", "client")["spec"]["nodeName"]
        nodes = sorted({p["spec"]["nodeName"] for p in self.web_pods()} - {client_node})
        if not nodes:
            raise DemoError("every web pod is on the client's node: nothing to drain")
        node = nodes[0]
        self.say(f"6. Cordon and drain {node}: its pods move to the other nodes")
        self.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                     "--timeout=120s")  # fmt: skip
        pods = self.ready_web(5)
        if any(p["spec"]["nodeName"] == node for p in pods):
            raise DemoError(f"pods are still on {node}")
        self.kubectl("get", "nodes")
        self.kubectl("get", "pods", "-l", "app=web", "-o", "wide")
        self.explain(sorted(_names(pods))[0])  # the cordoned node fails NodeUnschedulable
        answers = self.ask(5)
        if "FAIL" in answers:
            raise DemoError(f"the Service failed after the drain: {answers}")
        console.print(f"   the Service still answers: {', '.join(sorted(set(answers)))}")
        self.kubectl("uncordon", node)

    def story(self) -> None:
        self.deploy()
        self.reach()
        self.kill_one()
        self.scale()
        self.rolling_update()
        self.drain()


def _ready(pod: dict) -> bool:
    conds = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def _names(pods: list[dict]) -> set[str]:
    return {p["metadata"]["name"] for p in pods}


def _version(pod: dict) -> str:
    env = pod["spec"]["containers"][0].get("env") or []
    return next((e.get("value", "") for e in env if e["name"] == "VERSION"), "")


def main(opts: Options, keep: bool = False) -> int:
    started = time.monotonic()
    if cli.up(opts) != 0:
        return 1
    code = 0
    try:
        Demo(opts).story()
        console.rule(f"[bold green]Demo done in {time.monotonic() - started:.0f}s")
    except (DemoError, subprocess.TimeoutExpired, OSError) as err:
        console.print(f"[red]✗ {err}[/]")
        code = 1
    except KeyboardInterrupt:
        console.print("[red]✗ interrupted[/]")
        code = 130
    finally:
        if keep:
            console.print(f"The cluster stays up: export KUBECONFIG={opts.data_dir}/kubeconfig"
                          f"; `python -m minicluster down` removes it.")  # fmt: skip
        else:
            cli.down(opts)
    return code
