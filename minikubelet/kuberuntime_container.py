"""Turning a v1.Container into a CRI ContainerConfig, and running lifecycle hooks.

Mirrors pkg/kubelet/kuberuntime/kuberuntime_container.go (generateContainerConfig,
startContainer with the postStart hook, killContainer with preStop then
StopContainer for the rest of the grace period), kubelet_pods.go (makeEnvironmentVariables
with fieldRef's downward API, makeMounts for emptyDir and hostPath; configMap, secret,
downwardAPI and projected volumes are projected.py's payloads, written by atomic_writer.py) and
pkg/kubelet/cm/helpers_linux.go (MilliCPUToShares, MilliCPUToQuota).
ConfigMap and Secret values come from configsources.py. Command and args go to the
runtime separately: it combines them with the image's Entrypoint and Cmd (oci_spec.py).
makeMounts also writes and mounts the managed /etc/hosts (etchosts.py).
$(VAR) references in env values, command and args are expanded (expansion.py).
Omitted: subPath, service environment variables, termination messages.
"""

from __future__ import annotations

import os
import urllib.request

from miniapi.core import v1
from minikubelet import atomic_writer, cri, etchosts, expansion, projected
from minikubelet.configsources import ConfigError, Sources, lookup

ETC_HOSTS_PATH = "/etc/hosts"
MIN_SHARES, SHARES_PER_CPU, QUOTA_PERIOD = 2, 1024, 100000


def milli_cpu_to_shares(milli: int) -> int:
    if milli == 0:
        return MIN_SHARES
    return max(MIN_SHARES, milli * SHARES_PER_CPU // 1000)


def milli_cpu_to_quota(milli: int) -> int:
    return milli * QUOTA_PERIOD // 1000 if milli else 0


def field_ref(pod: v1.Pod, path: str, pod_ip: str, host_ip: str) -> str:
    """The downward API values an env fieldRef can name."""
    values = {
        "metadata.name": pod.metadata.name,
        "metadata.namespace": pod.metadata.namespace,
        "metadata.uid": pod.metadata.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    return values.get(path, "")


def _env_from(c: v1.Container, sources: Sources) -> list[str]:
    out = []
    for ef in c.env_from:
        ref = ef.config_map_ref or ef.secret_ref
        if ref is None:
            continue
        kind = "configmap" if ef.config_map_ref else "secret"
        data = sources.get((kind, ref.name))
        if data is None and not ref.optional:
            raise ConfigError(f'{kind} "{ref.name}" not found')
        out += [f"{ef.prefix}{k}={v.decode(errors='replace')}" for k, v in (data or {}).items()]
    return out


def _env_value(pod: v1.Pod, e: v1.EnvVar, pod_ip: str, host_ip: str, sources: Sources):
    src = e.value_from
    if src is None:
        return e.value
    if src.field_ref:
        return field_ref(pod, src.field_ref.field_path, pod_ip, host_ip)
    ref, kind = (src.config_map_key_ref, "configmap") if src.config_map_key_ref else (
        src.secret_key_ref, "secret")  # fmt: skip
    if ref is None:
        return ""
    return lookup(sources, kind, ref.name, ref.key, bool(ref.optional))


def make_environment_variables(
    pod: v1.Pod, c: v1.Container, pod_ip: str, host_ip: str, sources: Sources
) -> list[str]:
    """envFrom, then env (later names win, as in the kubelet), a literal value's $(VAR)
    expanded over the names before it; PATH and HOSTNAME are the runtime's to add."""
    out = _env_from(c, sources)
    defined = dict(e.split("=", 1) for e in out)
    mapping = expansion.mapping_func_for(defined)
    for e in c.env:
        value = _env_value(pod, e, pod_ip, host_ip, sources)
        if value is not None:
            if e.value_from is None and value:
                value = expansion.expand(value, mapping)
            defined[e.name] = value
            out.append(f"{e.name}={value}")
    return out


# The kubelet's directory name per volume plugin (pods/<uid>/volumes/<plugin>/<volume>).
PLUGIN_DIRS = (("projected", "kubernetes.io~projected"), ("downward_api", "kubernetes.io~downward-api"),
               ("config_map", "kubernetes.io~configmap"), ("secret", "kubernetes.io~secret"))  # fmt: skip


def written_volume_dir(pod_dir: str, volume: v1.Volume) -> str:
    """Where a configMap/secret/downwardAPI/projected volume's files live; '' for others."""
    for attr, plugin in PLUGIN_DIRS:
        if getattr(volume, attr) is not None:
            return os.path.join(pod_dir, "volumes", plugin, volume.name)
    return ""


def set_up_volume(pod: v1.Pod, pod_dir: str, volume: v1.Volume, sources: Sources) -> str:
    """SetUp for the volumes made of files: the payload, written atomically."""
    path = written_volume_dir(pod_dir, volume)
    try:
        atomic_writer.write(path, projected.volume_payload(pod, volume, sources) or {})
    except atomic_writer.PayloadError as err:
        raise ConfigError(str(err)) from err
    return path


def refresh_volumes(pod: v1.Pod, pod_dir: str, sources: Sources) -> None:
    """Rewrite the file volumes already set up (a rotated token, an edited ConfigMap), as
    the volume manager's remount of RequiresRemount plugins; a failure keeps the old files."""
    for v in pod.spec.volumes:
        path = written_volume_dir(pod_dir, v)
        if path and os.path.isdir(path):
            try:
                set_up_volume(pod, pod_dir, v, sources)
            except (ConfigError, OSError):
                continue


def volume_host_path(pod: v1.Pod, pod_dir: str, volume: v1.Volume, sources: Sources) -> str:
    if written_volume_dir(pod_dir, volume):
        return set_up_volume(pod, pod_dir, volume, sources)
    if volume.host_path is not None:
        if volume.host_path.type in ("DirectoryOrCreate", "", None):
            os.makedirs(volume.host_path.path, exist_ok=True)
        return volume.host_path.path
    path = os.path.join(pod_dir, "volumes", "kubernetes.io~empty-dir", volume.name)
    os.makedirs(path, exist_ok=True)
    return path


def ensure_hosts_file(pod: v1.Pod, pod_dir: str, pod_ip: str, cluster_domain: str) -> str:
    """Write <pod dir>/etc-hosts (ensureHostsFile) and return its path."""
    node_hosts = ""
    if pod.spec.host_network:
        with open(ETC_HOSTS_PATH) as f:
            node_hosts = f.read()
    text = etchosts.hosts_file_content(pod, [pod_ip] if pod_ip else [], cluster_domain,
                                       node_hosts)  # fmt: skip
    path = os.path.join(pod_dir, "etc-hosts")
    os.makedirs(pod_dir, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)
    return path


def make_mounts(
    pod: v1.Pod, c: v1.Container, pod_dir: str, sources: Sources, pod_ip: str = "",
    cluster_domain: str = "",
) -> list[tuple[str, str, bool]]:  # fmt: skip
    volumes = {v.name: v for v in pod.spec.volumes
               if v.host_path or v.empty_dir is not None or written_volume_dir(pod_dir, v)}  # fmt: skip
    out = []
    for m in c.volume_mounts:
        if m.name in volumes:
            v = volumes[m.name]
            readonly = m.read_only or bool(written_volume_dir(pod_dir, v))  # files: read-only
            out.append((volume_host_path(pod, pod_dir, v, sources), m.mount_path, readonly))
    if not any(m.mount_path == ETC_HOSTS_PATH for m in c.volume_mounts):
        hosts = ensure_hosts_file(pod, pod_dir, pod_ip, cluster_domain)
        out.append((hosts, ETC_HOSTS_PATH, False))
    return out


def _milli(resources: dict, name: str) -> int:
    q = resources.get(name)
    return q.milli_value() if q is not None else 0


def generate_container_config(
    pod: v1.Pod,
    c: v1.Container,
    attempt: int,
    pod_dir: str,
    pod_ip: str,
    host_ip: str,
    sources: Sources | None = None,
    image_ref: str = "",
    cluster_domain: str = "",
) -> cri.ContainerConfig:
    """generateContainerConfig; raises ConfigError for a missing ConfigMap/Secret/key."""
    sources = sources or {}
    limits, requests = c.resources.limits or {}, c.resources.requests or {}
    cpu_request = _milli(requests, "cpu") or _milli(limits, "cpu")
    memory = limits.get("memory")
    envs = make_environment_variables(pod, c, pod_ip, host_ip, sources)
    command, args = expansion.expand_container_command_and_args(c.command, c.args, envs)
    sc = c.security_context
    psc = pod.spec.security_context
    # None: unset, so the runtime applies the image's USER.
    uid = next((x for x in (sc and sc.run_as_user, psc and psc.run_as_user) if x is not None), None)
    gid = next(
        (x for x in (sc and sc.run_as_group, psc and psc.run_as_group) if x is not None), None
    )
    return cri.ContainerConfig(
        name=c.name, image=c.image, image_ref=image_ref or c.image, attempt=attempt,
        command=command, args=args, working_dir=c.working_dir, envs=envs,
        mounts=make_mounts(pod, c, pod_dir, sources, pod_ip, cluster_domain),
        labels={"io.kubernetes.pod.uid": pod.metadata.uid, "io.kubernetes.pod.name":
                pod.metadata.name, "io.kubernetes.pod.namespace": pod.metadata.namespace,
                "io.kubernetes.container.name": c.name},
        log_path=os.path.join(pod_dir, "logs", c.name, f"{attempt}.log"),
        cpu_shares=milli_cpu_to_shares(cpu_request) if cpu_request else 0,
        cpu_quota=milli_cpu_to_quota(_milli(limits, "cpu")),
        memory_limit_in_bytes=memory.value() if memory is not None else 0,
        run_as_user=uid, run_as_group=gid,
    )  # fmt: skip


def run_handler(
    runtime: cri.RuntimeService, cid: str, handler: v1.LifecycleHandler, pod_ip: str, timeout: float
) -> str:
    """Run a postStart/preStop handler; '' on success, else the error message."""
    if handler.exec is not None:
        try:
            code, out = runtime.exec_sync(cid, list(handler.exec.command), timeout)
        except TimeoutError as err:
            return str(err)
        return "" if code == 0 else f"command {handler.exec.command} exited with {code}: {out}"
    if handler.http_get is not None:
        h = handler.http_get
        url = f"{(h.scheme or 'HTTP').lower()}://{h.host or pod_ip}:{h.port}{h.path or '/'}"
        try:
            urllib.request.urlopen(url, timeout=timeout).close()
        except OSError as err:
            return f"http lifecycle hook {url} failed: {err}"
    return ""
