"""The kubelet's HTTP API: /healthz, /pods, /containerLogs, /run, /exec, /metrics.

Mirrors pkg/kubelet/server/server.go (InstallDefaultHandlers: healthz and pods;
InstallDebuggingHandlers: containerLogs/{namespace}/{pod}/{container} with previous,
tailLines, limitBytes and follow; run/{namespace}/{pod}/{container}?cmd= for a one-shot command;
exec/{namespace}/{pod}/{container} streamed over a WebSocket, in streaming.py)
and the kubelet's Prometheus metrics (a few of them).
Omitted: TLS and authn/authz of kubelet clients, attach/portForward streaming,
stats/summary, the timestamps and sinceSeconds log options (the log files keep no
per-line times), limitBytes while following (a limited answer is not followed).
"""

from __future__ import annotations

import asyncio
import json
import os

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from miniapi import scheme
from minikubelet.kubelet import Kubelet
from minikubelet.streaming import serve_exec


def _container_log(kubelet: Kubelet, ns: str, pod_name: str, container: str, previous: bool):
    pod = next((p for p in kubelet.workers.pods.values()
                if p.metadata.namespace == ns and p.metadata.name == pod_name), None)  # fmt: skip
    if pod is None or kubelet.runtime is None:
        raise web.HTTPNotFound(text=f'pod "{pod_name}" not found')
    directory = os.path.join(kubelet.runtime.pod_dir(pod), "logs", container)
    attempts = sorted((int(n.split(".")[0]) for n in os.listdir(directory)), reverse=True) \
        if os.path.isdir(directory) else []  # fmt: skip
    index = 1 if previous else 0
    if len(attempts) <= index:
        raise web.HTTPBadRequest(text=_no_log_reason(kubelet, pod, container, previous))
    return pod, os.path.join(directory, f"{attempts[index]}.log")


def _no_log_reason(kubelet: Kubelet, pod, container: str, previous: bool) -> str:
    """Why there is no log, in validateContainerLogStatus's words (from the last status sent)."""
    name = pod.metadata.name
    if previous:
        return f'previous terminated container "{container}" in pod "{name}" not found'
    status = json.loads(kubelet.status_manager.sent.get(pod.metadata.uid, "{}"))
    statuses = status.get("initContainerStatuses", []) + status.get("containerStatuses", [])
    waiting = next((s["state"]["waiting"] for s in statuses
                    if s.get("name") == container and "waiting" in s.get("state", {})), None)  # fmt: skip
    if waiting is not None:
        return (f'container "{container}" in pod "{name}" is waiting to start: '
                f"{waiting.get('reason', '')}")  # fmt: skip
    return f'container "{container}" in pod "{name}" is not available'


def make_app(kubelet: Kubelet) -> web.Application:
    registry = CollectorRegistry()
    running = Gauge("kubelet_running_pods", "Number of pods with a running sandbox",
                    registry=registry)  # fmt: skip
    patches = Gauge("kubelet_status_patches", "pods/status patches sent", registry=registry)

    async def healthz(_req: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def pods(_req: web.Request) -> web.Response:
        items = [scheme.encode(p) for p in kubelet.workers.pods.values()]
        body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
        return web.json_response(body)

    async def container_logs(req: web.Request) -> web.StreamResponse:
        m = req.match_info
        previous = req.query.get("previous") == "true"
        _, path = _container_log(kubelet, m["ns"], m["pod"], m["container"], previous)
        with open(path, "rb") as f:
            data = f.read()
        tail = req.query.get("tailLines")
        if tail:
            data = b"".join(data.splitlines(keepends=True)[-int(tail) :])
        limit = int(req.query.get("limitBytes") or 0)
        if limit:  # limitBytes caps the whole answer, so a follow stops there too
            return web.Response(body=data[:limit], content_type="text/plain")
        if req.query.get("follow") != "true":
            return web.Response(body=data, content_type="text/plain")
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        await resp.prepare(req)
        await resp.write(data)
        offset = os.path.getsize(path)
        while os.path.exists(path):
            await asyncio.sleep(0.5)
            size = os.path.getsize(path)
            if size > offset:
                with open(path, "rb") as f:
                    f.seek(offset)
                    await resp.write(f.read(size - offset))
                offset = size
        return resp

    async def run(req: web.Request) -> web.Response:
        m = req.match_info
        pod, _ = _container_log(kubelet, m["ns"], m["pod"], m["container"], False)
        containers = kubelet.runtime.containers(pod.metadata.uid)
        live = [c for c in containers if c.config.name == m["container"] and c.state == "RUNNING"]
        if not live:
            raise web.HTTPNotFound(text=f'container "{m["container"]}" is not running')
        cmd = req.query.getall("cmd", [])
        if len(cmd) == 1:
            cmd = cmd[0].split()
        code, out = await asyncio.to_thread(kubelet.runtime.runtime.exec_sync, live[0].id, cmd, 60)
        return web.Response(text=out, status=200 if code == 0 else 500)

    async def exec_(req: web.Request) -> web.StreamResponse:
        return await serve_exec(req, kubelet)

    async def metrics(_req: web.Request) -> web.Response:
        if kubelet.runtime is not None:
            sandboxes = await asyncio.to_thread(kubelet.runtime.runtime.list_pod_sandbox)
            running.set(len([s for s in sandboxes if s.state == "SANDBOX_READY"]))
        patches.set(kubelet.status_manager.patches)
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/pods", pods)
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    app.router.add_post("/run/{ns}/{pod}/{container}", run)
    app.router.add_route("GET", "/exec/{ns}/{pod}/{container}", exec_)
    app.router.add_route("POST", "/exec/{ns}/{pod}/{container}", exec_)
    app.router.add_get("/metrics", metrics)
    return app
