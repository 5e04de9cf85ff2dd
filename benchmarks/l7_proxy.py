"""Benchmark: miniproxy.envoy vs nginx and haproxy as reverse proxies to one nginx backend.

Run from the repo root: `.venv/bin/python benchmarks/l7_proxy.py [--duration 8]`.
Needs Debian's nginx-light, haproxy and wrk (`apt-get install nginx-light haproxy wrk`).
Every proxy gets one worker (miniproxy.envoy runs one event loop; nginx `worker_processes 1`,
haproxy `nbthread 1`) and listens on loopback in front of the same nginx backend. Load is
`wrk -t2 -c50 -d<duration>s --latency`. Prints one JSON line per target (req/s, p50, p99, and
the target's own CPU time per request from /proc, which varies less than req/s when the machine
is shared) and a final line with the ratios to haproxy. Bounded to well under two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def nginx_conf(tmp: Path, name: str, body: str) -> Path:
    conf = tmp / f"{name}.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/{name}.pid;
error_log {tmp}/{name}.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/{name}-body;
  proxy_temp_path {tmp}/{name}-proxy;
  fastcgi_temp_path {tmp}/{name}-fcgi;
  uwsgi_temp_path {tmp}/{name}-uwsgi;
  scgi_temp_path {tmp}/{name}-scgi;
  {body}
}}
""")
    return conf


def envoy_yaml(tmp: Path, port: int, backend: int) -> Path:
    cfg = tmp / "envoy.yaml"
    cfg.write_text(f"""
static_resources:
  listeners:
  - name: ingress
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: backend}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {backend}}}}}}}
""")
    return cfg


def haproxy_cfg(tmp: Path, port: int, backend: int) -> Path:
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(f"""
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:{backend}
""")
    return cfg


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (nginx's workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or f[1] == str(pid):  # f[1] is the parent pid
            total += int(f[11]) + int(f[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def parse_ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def run_wrk(port: int, pid: int, duration: int) -> dict:
    url = f"http://127.0.0.1:{port}/"
    subprocess.run(["wrk", "-t2", "-c50", "-d1s", url], capture_output=True, timeout=30)  # warm up
    cpu = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    ).stdout
    cpu = cpu_seconds(pid) - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": round(rps), "p50_ms": round(parse_ms(lat["50"]), 2), "p99_ms": round(parse_ms(lat["99"]), 2),
            "cpu_us_per_rq": round(cpu / max(total, 1) * 1e6),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=8, help="seconds of load per target")
    args = ap.parse_args()
    missing = [t for t in ("nginx", "haproxy", "wrk") if shutil.which(t) is None]
    if missing:
        print(
            json.dumps(
                {"error": f"missing tools: {missing}; apt-get install nginx-light haproxy wrk"}
            )
        )
        return 1
    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="envoy-bench-"))
    try:
        backend = free_port()
        procs.append(
            subprocess.Popen(
                [
                    "nginx",
                    "-c",
                    str(
                        nginx_conf(
                            tmp,
                            "backend",
                            f'server {{ listen 127.0.0.1:{backend}; location / {{ return 200 "hello from nginx\\n"; }} }}',
                        )
                    ),
                ]
            )
        )
        wait_port(backend)
        targets = {"backend-direct": backend}
        ports = {name: free_port() for name in ("miniproxy.envoy", "nginx", "haproxy")}
        upstream = f"upstream be {{ server 127.0.0.1:{backend}; keepalive 64; }}"
        loc = 'location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }'
        procs.append(
            subprocess.Popen(
                [
                    "nginx",
                    "-c",
                    str(
                        nginx_conf(
                            tmp,
                            "proxy",
                            f"{upstream} server {{ listen 127.0.0.1:{ports['nginx']}; {loc} }}",
                        )
                    ),
                ]
            )
        )
        procs.append(
            subprocess.Popen(
                ["haproxy", "-f", str(haproxy_cfg(tmp, ports["haproxy"], backend))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "miniproxy.envoy",
                    "-c",
                    str(envoy_yaml(tmp, ports["miniproxy.envoy"], backend)),
                    "-l",
                    "warning",
                    "--concurrency",
                    "1",
                ],
                cwd=REPO,
            )
        )
        for name, port in ports.items():
            wait_port(port)
            targets[name] = port
        results = {}
        # procs were started as: backend nginx, nginx proxy, haproxy, miniproxy.envoy.
        order = ["backend-direct", "nginx", "haproxy", "miniproxy.envoy"]
        pids = dict(zip(order, (p.pid for p in procs), strict=True))
        for name, port in targets.items():
            r = run_wrk(port, pids[name], args.duration)
            results[name] = r
            print(
                json.dumps({"target": name, "load": f"wrk -t2 -c50 -d{args.duration}s", **r}),
                flush=True,
            )
        h = results["haproxy"]["rps"]
        print(json.dumps({"summary": "ratios to haproxy (req/s)", **{n: round(r["rps"] / h, 3) for n, r in results.items()},
                          "miniproxy_p99_vs_haproxy": round(results["miniproxy.envoy"]["p99_ms"] / max(results["haproxy"]["p99_ms"], 0.01), 2)}))  # fmt: skip
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
