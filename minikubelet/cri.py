"""A RuntimeService shaped like CRI, implemented over an OCI runtime's command line.

Mirrors cri-api's api.proto (RunPodSandbox, StopPodSandbox, RemovePodSandbox,
PodSandboxStatus, ListPodSandbox, CreateContainer, StartContainer, StopContainer,
RemoveContainer, ListContainers, ContainerStatus, ExecSync; the CONTAINER_CREATED /
RUNNING / EXITED states) and what containerd's CRI plugin does behind it. A sandbox is
a pinned network namespace wired by CNI (CRI-O's pinns style, no pause container);
a container is an OCI bundle whose init is watched by a shim process. The runtime is
`minicontainer` or `runc` (or any runc-compatible binary): only the argv differs.
RunPodSandbox writes the pod's resolv.conf and hostname files, which every container
bind-mounts; CreateContainer puts a writable snapshot of the image (images.py) under
the bundle and merges the image config into the process (oci_spec.py).
All state lives in files under the root dir, so a restarted kubelet lists it again.
Omitted: ImageService over gRPC, attach, port-forward, checkpoints, stats.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from minicontainer.image.bundle import resolve_user
from minicontainer.image.snapshotter import SnapshotError
from minikubelet import cni, images, oci_spec
from minikubelet.dns import DNSConfig, resolv_conf_content

CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED = "CREATED", "RUNNING", "EXITED"
SANDBOX_READY, SANDBOX_NOTREADY = "SANDBOX_READY", "SANDBOX_NOTREADY"
REPO = str(Path(__file__).resolve().parents[1])


def _snapshot_key(cid: str) -> str:
    return f"k8s-container-{cid}"


SHIM = str(Path(__file__).resolve().with_name("shim.py"))


def runtime_argv(endpoint: str) -> list[str]:
    """The command line for --container-runtime-endpoint (a name or a runc-like binary).

    minicontainer is its lean launcher beside this interpreter when setup wrote one
    (`python -I -S`, about half the start-up CPU of `python -m`, paid per OCI call)."""
    if endpoint == "minicontainer":
        lean = os.path.join(os.path.dirname(sys.executable), "minicontainer")
        return [lean] if os.access(lean, os.X_OK) else [sys.executable, "-m", "minicontainer"]
    return [shutil.which(endpoint) or endpoint]


@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # DNSConfig: {"servers": [...], "searches": [...], "options": [...]}
    dns_config: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PodSandbox:
    id: str
    config: PodSandboxConfig
    state: str
    netns: str
    ip: str
    created_at: float


@dataclass
class ContainerConfig:
    name: str
    image: str  # as the user wrote it (UserSpecifiedImage)
    image_ref: str = ""  # what EnsureImageExists resolved it to (ImageSpec.image)
    attempt: int = 0
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: list[str] = field(default_factory=list)
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    log_path: str = ""
    cpu_shares: int = 0
    cpu_quota: int = 0
    memory_limit_in_bytes: int = 0
    run_as_user: int | None = None  # None: the image's USER
    run_as_group: int | None = None


@dataclass
class ContainerStatus:
    id: str
    pod_sandbox_id: str
    config: ContainerConfig
    state: str
    created_at: float
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""
    message: str = ""


class RuntimeError_(Exception):
    """A CRI call failed; the message is what the runtime or plugin said."""


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _save(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class RuntimeService:
    """One node's runtime: sandboxes, containers, the OCI runtime and CNI."""

    def __init__(self, root_dir: str, endpoint: str, cni_conf_dir: str, cni_bin_dirs: list[str],
                 image_store: str = "", insecure_registries: list[str] | None = None,
                 registry_mirrors: dict[str, str] | None = None):  # fmt: skip
        self.root = Path(root_dir)
        self.endpoint = endpoint
        self.runtime = runtime_argv(endpoint)
        self.runtime_root = str(self.root / "runtime" / Path(endpoint).name)
        self.cni_conf_dir, self.cni_bin_dirs = cni_conf_dir, cni_bin_dirs
        self.images = images.ImageService(image_store or str(self.root / "image-store"),
                                          insecure_registries, registry_mirrors)  # fmt: skip
        for d in ("sandboxes", "containers", "runtime"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self._uids: dict[str, str] = {}  # sandbox id -> pod uid
        self._metas: dict[str, dict] = {}  # container id -> meta.json

    def _oci(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": REPO}
        return subprocess.run(
            [*self.runtime, "--root", self.runtime_root, *args],
            capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    # -- sandboxes ---------------------------------------------------------------
    def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        sid = secrets.token_hex(8)
        netns_name = f"mk-{sid}"
        subprocess.run(["ip", "netns", "add", netns_name], check=True, capture_output=True)
        netns = f"/var/run/netns/{netns_name}"
        subprocess.run(["ip", "-n", netns_name, "link", "set", "lo", "up"], check=False)
        directory = self.root / "sandboxes" / sid
        directory.mkdir(parents=True)
        self._write_sandbox_files(directory, config)
        record = {"id": sid, "config": asdict(config), "netns": netns, "ip": "",
                  "state": SANDBOX_NOTREADY, "created_at": time.time()}  # fmt: skip
        _save(directory / "sandbox.json", record)
        try:
            netlist = cni.load_conf_list(self.cni_conf_dir)
            record["ip"] = cni.add_network_list(netlist, self.cni_bin_dirs, sid, netns)
        except (cni.CNIError, OSError, ValueError) as err:
            self.remove_pod_sandbox(sid)
            raise RuntimeError_(f"failed to setup network for sandbox {sid}: {err}") from err
        record["state"] = SANDBOX_READY
        _save(directory / "sandbox.json", record)
        return sid

    @staticmethod
    def _write_sandbox_files(directory: Path, config: PodSandboxConfig) -> None:
        """hostname and resolv.conf, as containerd keeps them in the sandbox's directory."""
        (directory / "hostname").write_text((config.hostname or config.name) + "\n")
        d = config.dns_config
        dns = DNSConfig(d.get("servers", []), d.get("searches", []), d.get("options", []))
        (directory / "resolv.conf").write_text(resolv_conf_content(dns))
        for name in ("hostname", "resolv.conf"):
            os.chmod(directory / name, 0o644)

    def stop_pod_sandbox(self, sid: str) -> None:
        """Tear the network down (CNI DEL, then the namespace); idempotent, as CRI wants."""
        directory = self.root / "sandboxes" / sid
        record = _load(directory / "sandbox.json")
        if record is None:
            return
        netns_name = Path(record["netns"]).name
        if os.path.exists(record["netns"]):
            try:
                cni.del_network_list(cni.load_conf_list(self.cni_conf_dir), self.cni_bin_dirs,
                                     sid, record["netns"])  # fmt: skip
            except (cni.CNIError, OSError, ValueError):
                pass  # DEL is best effort: the namespace goes away below anyway
            subprocess.run(["ip", "netns", "del", netns_name], check=False, capture_output=True)
        record["state"] = SANDBOX_NOTREADY
        _save(directory / "sandbox.json", record)

    def remove_pod_sandbox(self, sid: str) -> None:
        record = _load(self.root / "sandboxes" / sid / "sandbox.json")
        for c in self.list_containers():
            if c.pod_sandbox_id == sid:
                self.stop_container(c.id, 0)
                self.remove_container(c.id)
        self.stop_pod_sandbox(sid)
        if record:
            self._remove_pod_cgroups(record["config"]["uid"])
        shutil.rmtree(self.root / "sandboxes" / sid, ignore_errors=True)
        self._uids.pop(sid, None)

    def pod_sandbox_status(self, sid: str) -> PodSandbox | None:
        r = _load(self.root / "sandboxes" / sid / "sandbox.json")
        if r is None:
            return None
        config = PodSandboxConfig(**r["config"])
        return PodSandbox(r["id"], config, r["state"], r["netns"], r["ip"], r["created_at"])

    def list_pod_sandbox(self, pod_uid: str = "") -> list[PodSandbox]:
        """Every sandbox, or a pod's (CRI's PodSandboxFilter on io.kubernetes.pod.uid)."""
        ids = sorted(p.name for p in (self.root / "sandboxes").iterdir())
        if pod_uid:
            ids = [sid for sid in ids if self._sandbox_uid(sid) in (pod_uid, None)]
        return [s for s in map(self.pod_sandbox_status, ids) if s is not None]

    def _sandbox_uid(self, sid: str) -> str | None:
        """The pod UID a sandbox belongs to: immutable, so read once (the per-pod relist
        would otherwise parse every sandbox of the node each second)."""
        if sid not in self._uids:
            record = _load(self.root / "sandboxes" / sid / "sandbox.json")
            if record is None:
                return None
            self._uids[sid] = record["config"]["uid"]
        return self._uids[sid]

    # -- containers --------------------------------------------------------------
    def _cgroups_path(self, pod_uid: str, cid: str) -> str:
        return f"/minikubelet/pod{pod_uid}/{cid}"

    def _remove_pod_cgroups(self, pod_uid: str) -> None:
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for d in (hierarchy / "minikubelet" / f"pod{pod_uid}", hierarchy / "minikubelet"):
                try:
                    d.rmdir()
                except OSError:
                    pass  # not there, or still in use by another pod

    def create_container(self, sid: str, config: ContainerConfig) -> str:
        sandbox = self.pod_sandbox_status(sid)
        if sandbox is None:
            raise RuntimeError_(f"sandbox {sid} not found")
        cid = secrets.token_hex(8)
        directory = self.root / "containers" / cid
        rootfs = directory / "bundle" / "rootfs"
        try:
            image_config = self.images.image_config(config.image_ref or config.image)
            self.images.prepare_rootfs(config.image_ref or config.image, _snapshot_key(cid),
                                       str(rootfs))  # fmt: skip
            spec = self._spec(sandbox, config, cid, image_config, rootfs)
        except (images.ImagePullError, SnapshotError, oci_spec.SpecError, ValueError) as err:
            self.images.remove_rootfs(_snapshot_key(cid), str(rootfs))
            shutil.rmtree(directory, ignore_errors=True)
            raise RuntimeError_(f"failed to generate container spec: {err}") from err
        (directory / "bundle" / "config.json").write_text(json.dumps(spec))
        meta = {"id": cid, "sandbox": sid, "config": asdict(config), "created_at": time.time()}
        _save(directory / "meta.json", meta)
        return cid

    def _spec(self, sandbox: PodSandbox, config: ContainerConfig, cid: str, image_config: dict,
              rootfs: Path) -> dict:  # fmt: skip
        """containerd's container spec: the image config under the container's settings."""
        uid, gid = config.run_as_user, config.run_as_group
        if uid is None:
            uid, image_gid = resolve_user(rootfs, image_config.get("User", ""))
            gid = image_gid if gid is None else gid
        hostname = sandbox.config.hostname or sandbox.config.name
        sandbox_dir = self.root / "sandboxes" / sandbox.id
        binds = oci_spec.sandbox_mounts(config.mounts, str(sandbox_dir / "resolv.conf"),
                                        str(sandbox_dir / "hostname"))  # fmt: skip
        return oci_spec.build_spec(
            args=oci_spec.process_args(config.command, config.args, image_config),
            env=oci_spec.process_env(hostname, image_config, config.envs),
            cwd=config.working_dir or image_config.get("WorkingDir") or "/",
            uid=uid, gid=gid or 0, rootfs=str(rootfs), hostname=hostname,
            netns_path=sandbox.netns, cgroups_path=self._cgroups_path(sandbox.config.uid, cid),
            binds=binds, linux_resources=oci_spec.resources(
                config.cpu_shares, config.cpu_quota, config.memory_limit_in_bytes),
        )  # fmt: skip

    def start_container(self, cid: str, timeout: float = 60) -> None:
        directory = self.root / "containers" / cid
        meta = _load(directory / "meta.json")
        if meta is None:
            raise RuntimeError_(f"container {cid} not found")
        pod_uid = meta["config"]["labels"].get("io.kubernetes.pod.uid", "")
        log_path = meta["config"]["log_path"]
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        memory_cgroup = f"/sys/fs/cgroup/memory{self._cgroups_path(pod_uid, cid)}"
        subprocess.Popen(
            [sys.executable, "-I", "-S", SHIM, "--runtime", json.dumps(self.runtime),
             "--root", self.runtime_root, "--id", cid, "--bundle", str(directory / "bundle"),
             "--log", log_path, "--state", str(directory), "--memory-cgroup", memory_cgroup],
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": REPO}, cwd="/",
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (directory / "started.json").exists():
                return
            exit_info = _load(directory / "exit.json")
            # started.json is written before exit.json: a quick exit must not read as a failure.
            if exit_info is not None and not (directory / "started.json").exists():
                raise RuntimeError_(exit_info.get("message") or "container failed to start")
            time.sleep(0.05)
        raise RuntimeError_(f"container {cid} did not start in {timeout}s")

    def stop_container(self, cid: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds (StopContainer's contract)."""
        directory = self.root / "containers" / cid
        if not (directory / "started.json").exists() or (directory / "exit.json").exists():
            return
        if timeout > 0:
            self._oci("kill", cid, "TERM")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not (directory / "exit.json").exists():
                time.sleep(0.1)
        while not (directory / "exit.json").exists():
            # --all reaches processes the init left behind in the cgroup.
            self._oci("kill", "--all", cid, "KILL")
            time.sleep(0.1)

    def remove_container(self, cid: str) -> None:
        directory = self.root / "containers" / cid
        if not directory.exists():
            return
        self.stop_container(cid, 0)
        self._oci("delete", "--force", cid)
        self.images.remove_rootfs(_snapshot_key(cid), str(directory / "bundle" / "rootfs"))
        shutil.rmtree(directory, ignore_errors=True)
        self._metas.pop(cid, None)

    def _meta(self, cid: str) -> dict | None:
        """meta.json never changes once written: cached, only the state files are re-read."""
        meta = self._metas.get(cid)
        if meta is None:
            meta = _load(self.root / "containers" / cid / "meta.json")
            if meta is not None:
                self._metas[cid] = meta
        return meta

    def container_status(self, cid: str) -> ContainerStatus | None:
        directory = self.root / "containers" / cid
        meta = self._meta(cid)
        if meta is None:
            return None
        config = ContainerConfig(
            **{**meta["config"], "mounts": [tuple(m) for m in meta["config"]["mounts"]]}
        )
        st = ContainerStatus(cid, meta["sandbox"], config, CONTAINER_CREATED, meta["created_at"])
        started, exited = _load(directory / "started.json"), _load(directory / "exit.json")
        if started:
            st.state, st.started_at = CONTAINER_RUNNING, started["startedAt"]
        if exited:
            st.state, st.finished_at = CONTAINER_EXITED, exited["finishedAt"]
            st.exit_code, st.reason = exited["exitCode"], exited.get("reason", "")
            st.message = exited.get("message", "")
        return st

    def list_containers(self, pod_uid: str = "") -> list[ContainerStatus]:
        """Every container, or a pod's (CRI's ContainerFilter label io.kubernetes.pod.uid)."""
        ids = sorted(p.name for p in (self.root / "containers").iterdir())
        if pod_uid:
            ids = [cid for cid in ids if self._pod_uid_of(cid) in (pod_uid, None)]
        return [c for c in map(self.container_status, ids) if c is not None]

    def _pod_uid_of(self, cid: str) -> str | None:
        meta = self._meta(cid)
        return meta["config"]["labels"].get("io.kubernetes.pod.uid", "") if meta else None

    def exec_sync(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, str]:
        """Run cmd in the container; (exit code, combined output). Timeout -> 124-ish error."""
        try:
            out = self._oci("exec", cid, *cmd, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise TimeoutError(f"command {cmd} timed out after {timeout}s") from err
        return out.returncode, out.stdout + out.stderr

    def version(self) -> str:
        out = self._oci("--version")
        first = (out.stdout.splitlines() or [self.endpoint])[0]
        return f"{Path(self.endpoint).name}://{first.split()[-1]}"
