"""Benchmark: miniproxy.envoy vs nginx and haproxy as reverse proxies to one nginx backend.

Run from the repo root:
`.venv/bin/python benchmarks/l7_proxy.py [--duration 4] [--rounds 3] [--concurrency N]`.
Needs Debian's nginx-light, haproxy and wrk (`apt-get install nginx-light haproxy wrk`).
Every proxy gets the same number of workers, N (default: the number of cores, Envoy's default):
miniproxy.envoy `--concurrency N` (N worker processes), nginx `worker_processes N`, haproxy
`nbthread N`; the nginx backend also runs N workers. All listen on loopback in front of the
same backend; a minimal single-process asyncio forwarder (no routing, headers or stats) shows
what one pure-asyncio event loop can reach. Load is
`wrk -t2 -c50 -d<duration>s --latency`, run in `--rounds` rounds that each visit every target
in turn, so load from other jobs on a shared machine falls on all targets alike. Prints one
JSON line per target and round (req/s, p50, p99, and the target's own CPU time per request from
/proc, which varies less than req/s when the machine is shared), then a summary: each target's
median req/s ratio to haproxy over the rounds (every round's ratios come from back-to-back runs).
Bounded to well under three minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
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


def nginx_conf(tmp: Path, name: str, body: str, workers: int = 1) -> Path:
    conf = tmp / f"{name}.conf"
    conf.write_text(f"""
worker_processes {workers};
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


def haproxy_cfg(tmp: Path, port: int, backend: int, threads: int = 1) -> Path:
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(f"""
global
  nbthread {threads}
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


# The floor for any pure-asyncio proxy: one upstream keep-alive connection per client
# connection, requests and responses forwarded by splitting on CRLFCRLF and Content-Length,
# with no routing, headers, filters or stats. Its ratio to haproxy is the ceiling for
# miniproxy.envoy on the same loop.
MINIMAL_ASYNCIO_PROXY = """
import asyncio, sys
BACKEND = int(sys.argv[2])
class Up(asyncio.Protocol):
    def __init__(s, down): s.down, s.buf = down, b""
    def connection_made(s, t): s.t = t
    def data_received(s, d):
        s.buf += d
        end = s.buf.find(b"\\r\\n\\r\\n")
        if end < 0: return
        i = s.buf.find(b"ontent-Length: ", 0, end) + 15
        n = end + 4 + int(s.buf[i:s.buf.find(b"\\r\\n", i)])
        if len(s.buf) >= n:
            s.down.write(s.buf[:n]); s.buf = s.buf[n:]
class Down(asyncio.Protocol):
    def connection_made(s, t):
        s.t, s.up, s.q = t, None, b""
        asyncio.ensure_future(s.connect())
    async def connect(s):
        _, s.up = await asyncio.get_running_loop().create_connection(lambda: Up(s.t), "127.0.0.1", BACKEND)
        if s.q: s.up.t.write(s.q)
    def data_received(s, d):
        if s.up is None: s.q += d
        else: s.up.t.write(d)
async def main():
    srv = await asyncio.get_running_loop().create_server(Down, "127.0.0.1", int(sys.argv[1]))
    await srv.serve_forever()
asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (nginx's and miniproxy's worker
    processes), from /proc."""
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


def run_wrk(port: int, pid: int, duration: int, warm: bool) -> dict:
    url = f"http://127.0.0.1:{port}/"
    if warm:
        subprocess.run(["wrk", "-t2", "-c50", "-d1s", url], capture_output=True, timeout=30)
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
    ap.add_argument("--duration", type=int, default=4, help="seconds of load per target and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over all targets")
    ap.add_argument("--concurrency", type=int, default=os.cpu_count() or 1,
                    help="workers per proxy (default: number of cores)")  # fmt: skip
    args = ap.parse_args()
    n = args.concurrency
    print(json.dumps({"setup": {"cores": os.cpu_count(), "miniproxy.envoy": f"--concurrency {n}",
                                "haproxy": f"nbthread {n}", "nginx": f"worker_processes {n}",
                                "backend nginx": f"worker_processes {n}", "asyncio-minimal": "1 process",
                                "load": f"wrk -t2 -c50 -d{args.duration}s", "rounds": args.rounds,
                                "loadavg_1m": os.getloadavg()[0]}}), flush=True)  # fmt: skip
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
                            n,
                        )
                    ),
                ]
            )
        )
        wait_port(backend)
        targets = {"backend-direct": backend}
        ports = {
            name: free_port() for name in ("miniproxy.envoy", "nginx", "haproxy", "asyncio-minimal")
        }
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
                            n,
                        )
                    ),
                ]
            )
        )
        procs.append(
            subprocess.Popen(
                ["haproxy", "-f", str(haproxy_cfg(tmp, ports["haproxy"], backend, n))],
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
                    str(n),
                ],
                cwd=REPO,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    MINIMAL_ASYNCIO_PROXY,
                    str(ports["asyncio-minimal"]),
                    str(backend),
                ]
            )
        )
        for name, port in ports.items():
            wait_port(port)
            targets[name] = port
        # procs were started as: backend nginx, nginx proxy, haproxy, miniproxy.envoy, asyncio.
        order = ["backend-direct", "nginx", "haproxy", "miniproxy.envoy", "asyncio-minimal"]
        pids = dict(zip(order, (p.pid for p in procs), strict=True))
        runs: dict[str, list[dict]] = {name: [] for name in targets}
        ratios: dict[str, list[float]] = {name: [] for name in targets}
        for rnd in range(args.rounds):
            results = {}
            for name, port in targets.items():
                r = results[name] = run_wrk(port, pids[name], args.duration, warm=rnd == 0)
                runs[name].append(r)
                load = f"wrk -t2 -c50 -d{args.duration}s"
                print(json.dumps({"target": name, "round": rnd, "load": load, **r}), flush=True)
            h = results["haproxy"]
            for name, r in results.items():
                ratios[name].append(r["rps"] / max(h["rps"], 1))
        med = {
            name: {
                k: statistics.median(r[k] for r in rs) for k in ("rps", "p99_ms", "cpu_us_per_rq")
            }
            for name, rs in runs.items()
        }
        hm = med["haproxy"]
        print(json.dumps({"summary": "medians over rounds; ratios are per round (back-to-back runs), then the median",
                          "concurrency": n, "loadavg_1m": os.getloadavg()[0],
                          **{name: {**m, "rps_vs_haproxy": round(statistics.median(ratios[name]), 3),
                                    "cpu_per_rq_vs_haproxy": round(m["cpu_us_per_rq"] / max(hm["cpu_us_per_rq"], 1), 2),
                                    "p99_vs_haproxy": round(m["p99_ms"] / max(hm["p99_ms"], 0.01), 2)}
                             for name, m in med.items()},
                          "miniproxy_rps_vs_haproxy_per_round": [round(v, 3) for v in ratios["miniproxy.envoy"]]}))  # fmt: skip
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
