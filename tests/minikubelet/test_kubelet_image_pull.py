"""End to end: the kubelet pulls the example image from our registry and runs it; pull
errors become ErrImagePull, ImagePullBackOff and ErrImageNeverPull; pods get their DNS files.

The image is built with `python -m minicontainer build` from examples/images/web (on a
busybox base imported into a private store) and pushed with `python -m minicontainer
push` to `python -m minicontainer.registry` on a free loopback port. Pods are created
with kubectl against miniapiserver; the kubelet runs with --cluster-dns/--cluster-domain.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from minikubelet.images import ImageService, make_busybox_rootfs
from tests.minikubelet.kubelet_harness import ROOT, Cluster, KubeletProcess, free_port
from tests.minikubelet.test_kubelet_e2e import assert_nothing_left, create, wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.tool("etcd", "kubectl"),
    pytest.mark.kernel("netns", "overlay", "cgroup"),
]

CLUSTER_DNS = "10.96.0.10"


def minicontainer(store: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "minicontainer", *args[:1], "--store", str(store),
                          *args[1:]], capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Our registry on a free port, holding demo/web:1 built from examples/images/web."""
    tmp = tmp_path_factory.mktemp("registry")
    addr = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "minicontainer.registry", "--addr", addr,
                             "--root", str(tmp / "root")], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert "listening" in proc.stdout.readline()
        wait_for(lambda: http_get(f"http://{addr}/v2/")[0] == 200, what="registry")
        make_busybox_rootfs(tmp / "bb")
        store = tmp / "store"
        minicontainer(store, "image", "import", str(tmp / "bb"), "busybox")
        minicontainer(store, "build", "-t", "demo/web:1", str(ROOT / "examples/images/web"))
        pushed = minicontainer(store, "push", "demo/web:1", f"{addr}/demo/web:1",
                               "--tls-verify=false")  # fmt: skip
        yield addr, pushed.split()[-1]
    finally:
        proc.terminate()
        proc.wait(10)


def pod(name: str, node: str, image: str, **spec) -> dict:
    container = {"name": "main", "image": image, **spec.pop("container", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [container],
                     "terminationGracePeriodSeconds": 1, **spec}}  # fmt: skip


def status(cluster: Cluster, name: str) -> dict:
    return (cluster.get_json(f"/api/v1/namespaces/default/pods/{name}") or {}).get("status", {})


def waiting(cluster: Cluster, name: str) -> tuple[str, str]:
    for s in status(cluster, name).get("containerStatuses", []):
        w = s.get("state", {}).get("waiting")
        if w:
            return w.get("reason", ""), w.get("message", "")
    return "", ""


def events(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    items = cluster.get_json("/api/v1/namespaces/default/events")["items"]
    return [(e["reason"], e["message"]) for e in items if e["involvedObject"]["name"] == name]


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""
    except OSError:
        return 0, ""


NAMES = ("img-web", "img-missing", "img-never", "img-dnsbox")  # unique in the session
DNS_PRINTER = "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname"


def check_web_runs_the_image(cluster: Cluster, addr: str, digest: str) -> None:
    """The image's CMD, USER nobody, WORKDIR and ENV PORT run it: httpd on :8080."""
    web = f"{addr}/demo/web:1"
    s = wait_for(lambda: status(cluster, "img-web").get("phase") == "Running"
                 and status(cluster, "img-web"), what="web Running")  # fmt: skip
    assert s["containerStatuses"][0]["imageID"] == f"{addr}/demo/web@{digest}"
    ip = s["podIP"]
    code, body = wait_for(lambda: (r := http_get(f"http://{ip}:8080/build.txt"))[0] and r,
                          what="web serving")  # fmt: skip
    assert (code, body) == (200, "built for port 8080\n")
    assert http_get(f"http://{ip}:8080/notes.txt")[0] == 404  # deleted by a later RUN
    reasons = dict(events(cluster, "img-web"))
    assert reasons["Pulling"] == f'Pulling image "{web}"'
    assert reasons["Pulled"].startswith(f'Successfully pulled image "{web}" in ')
    assert reasons["Pulled"].endswith(" bytes.")


def check_pull_errors(cluster: Cluster, addr: str) -> None:
    """A missing tag: ErrImagePull (the next sync already finds it backing off, so it shows in
    the events), then ImagePullBackOff keeping the pull error; Never with no image."""
    missing = f"{addr}/demo/web:nope"
    reason, message = wait_for(lambda: (w := waiting(cluster, "img-missing"))[0]
                               == "ImagePullBackOff" and w, what="back-off")  # fmt: skip
    assert message.startswith(f'Back-off pulling image "{missing}": ErrImagePull: ')
    assert message.endswith(f"{missing}: not found")
    told = set(events(cluster, "img-missing"))
    assert ("BackOff", f'Back-off pulling image "{missing}"') in told
    assert {("Failed", "Error: ErrImagePull"), ("Failed", "Error: ImagePullBackOff")} <= told
    never = wait_for(lambda: (w := waiting(cluster, "img-never"))[0] and w, what="never")
    assert never == ("ErrImageNeverPull", f'Container image "{addr}/demo/web:2" is not present '
                     "with pull policy of Never")  # fmt: skip


def check_dns_files(cluster: Cluster) -> None:
    """ClusterFirst: the cluster's nameserver and search path, dnsConfig merged in."""
    wait_for(lambda: status(cluster, "img-dnsbox").get("phase") == "Succeeded", what="dnsbox")
    resolv, hosts, hostname = cluster.kubectl("logs", "img-dnsbox").split("---\n")
    lines = resolv.splitlines()
    assert lines[0].startswith("search default.svc.cluster.local svc.cluster.local cluster.local")
    assert lines[0].endswith(" extra.example")
    assert lines[1:] == [f"nameserver {CLUSTER_DNS}", "options ndots:2 edns0"]
    pod_ip = status(cluster, "img-dnsbox")["podIP"]
    assert hosts.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert f"{pod_ip}\tbox.sub.default.svc.cluster.local\tbox\n" in hosts
    assert hostname == "box\n"


def node_images(cluster: Cluster, node: str) -> list[str]:
    n = cluster.get_json(f"/api/v1/nodes/{node}")
    return [name for i in n["status"].get("images", []) for name in i["names"]]


def test_pull_run_errors_and_dns(cluster: Cluster, registry) -> None:
    addr, digest = registry
    k = KubeletProcess(cluster, "minicontainer",
                       extra=("--cluster-dns", CLUSTER_DNS, "--cluster-domain", "cluster.local"))  # fmt: skip
    try:
        dns_config = {"searches": ["extra.example"],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}  # fmt: skip
        for manifest in (
            pod("img-web", k.node, f"{addr}/demo/web:1"),
            pod("img-missing", k.node, f"{addr}/demo/web:nope"),
            pod("img-never", k.node, f"{addr}/demo/web:2", container={"imagePullPolicy": "Never"}),
            pod("img-dnsbox", k.node, "busybox", restartPolicy="Never", hostname="box",
                subdomain="sub", dnsConfig=dns_config,
                container={"command": ["sh", "-c", DNS_PRINTER]}),
        ):  # fmt: skip
            create(cluster, manifest)
        check_web_runs_the_image(cluster, addr, digest)
        check_pull_errors(cluster, addr)
        check_dns_files(cluster)
        cluster.kubectl("delete", "pod", *NAMES, "--wait=false")
        for name in NAMES:
            wait_for(lambda n=name: status(cluster, n) == {}, what=f"{name} deleted")
        # The node lists what it holds by repo digest and tag, on its next status update.
        # The pods' pulls run concurrently: wait for the update that lists all of them.
        want = {f"{addr}/demo/web@{digest}", f"{addr}/demo/web:1",
                "docker.io/library/busybox:latest"}  # fmt: skip
        wait_for(lambda: want <= set(node_images(cluster, k.node)), what="node images")
        assert_nothing_left(k)
    finally:
        k.stop()
        k.cleanup()


def test_registry_mirror_keeps_the_image_name(registry, tmp_path) -> None:
    """A name whose registry is unreachable (here: not even resolvable) pulls via its mirror."""
    addr, digest = registry
    service = ImageService(str(tmp_path / "store"), mirrors={"reg.invalid:5000": addr})
    image = service.pull_image("reg.invalid:5000/demo/web:1")
    assert image.repo_tags == ["reg.invalid:5000/demo/web:1"]
    assert image.repo_digests == [f"reg.invalid:5000/demo/web@{digest}"]
    assert service.image_config("reg.invalid:5000/demo/web:1")["User"] == "nobody"
