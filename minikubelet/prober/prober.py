"""Running one probe: exec, httpGet or tcpSocket, each bounded by timeoutSeconds.

Mirrors pkg/kubelet/prober/prober.go (runProbe: exec through the runtime's ExecSync,
HTTP GET where 200-399 is success, a TCP connect) and pkg/probe/{exec,http,tcp}.
Omitted: gRPC probes, custom hosts' DNS, redirects to other hosts, probe events.
"""

from __future__ import annotations

import asyncio

import aiohttp

from miniapi.core import v1
from minikubelet import cri
from minikubelet.prober.worker import FAILURE, SUCCESS


def resolve_port(port: int | str, container: v1.Container) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.ports:
        if p.name == port:
            return p.container_port
    return 0


async def _http_get(url: str, headers: dict[str, str], timeout: float) -> tuple[str, str]:
    """pkg/probe/http: a status in [200, 400) is success."""
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as s,
        s.get(url, headers=headers, ssl=False) as resp,
    ):
        if 200 <= resp.status < 400:
            return SUCCESS, ""
        return FAILURE, f"HTTP probe failed with statuscode: {resp.status}"


async def run_probe(
    probe: v1.Probe, container: v1.Container, cid: str, pod_ip: str, runtime: cri.RuntimeService
) -> tuple[str, str]:
    """(Success|Failure, output) for one attempt."""
    timeout = probe.timeout_seconds or 1
    try:
        if probe.exec is not None:
            code, out = await asyncio.to_thread(runtime.exec_sync, cid, list(probe.exec.command),
                                                timeout)  # fmt: skip
            return (SUCCESS if code == 0 else FAILURE), out
        if probe.http_get is not None:
            h = probe.http_get
            port = resolve_port(h.port, container)
            url = f"{(h.scheme or 'HTTP').lower()}://{h.host or pod_ip}:{port}{h.path or '/'}"
            headers = {x.name: x.value for x in h.http_headers}
            return await _http_get(url, headers, timeout)
        if probe.tcp_socket is not None:
            port = resolve_port(probe.tcp_socket.port, container)
            host = probe.tcp_socket.host or pod_ip
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.close()
            return SUCCESS, ""
    except (OSError, TimeoutError, aiohttp.ClientError) as err:
        return FAILURE, str(err) or type(err).__name__
    return FAILURE, "probe has no handler"
