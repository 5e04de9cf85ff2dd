"""Bookinfo on loopback: Istio's traffic-management tasks through miniproxy.envoy.

    python examples/envoy/bookinfo.py [routing|shifting|fault|breaker|ratelimit|all]
    python examples/envoy/bookinfo.py --services-only   # just the services, for your own envoy -c

Starts small aiohttp versions of the Bookinfo services on 127.0.0.1 (reviews v1/v2/v3 on
9081-9083, ratings on 9084, details on 9085), then for each scenario runs
`python -m miniproxy.envoy -c examples/envoy/<scenario>.yaml` (listener 10000, admin 9901),
sends the requests the Istio task sends, and prints what the user sees.
"""

from __future__ import annotations

import asyncio
import collections
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROXY = "http://127.0.0.1:10000"
ADMIN = "http://127.0.0.1:9901"
SERVICES = {
    "reviews-v1": (9081, "reviews v1: no stars"),
    "reviews-v2": (9082, "reviews v2: ★★★★☆ (black)"),
    "reviews-v3": (9083, "reviews v3: ★★★★☆ (red)"),
    "ratings": (9084, '{"Reviewer1": 5, "Reviewer2": 4}'),
    "details": (9085, '{"author": "William Shakespeare", "year": 1595}'),
}
SCENARIOS = {
    "routing": "request-routing.yaml",
    "shifting": "traffic-shifting.yaml",
    "fault": "fault-injection.yaml",
    "breaker": "circuit-breaking.yaml",
    "ratelimit": "rate-limiting.yaml",
}


async def start_services() -> list[web.AppRunner]:
    runners = []
    for _name, (port, text) in SERVICES.items():

        async def handle(request: web.Request, text: str = text) -> web.Response:
            if request.path.endswith("/slow"):
                await asyncio.sleep(0.5)
            if request.path.endswith("/fail"):
                return web.Response(status=500, text="internal error\n")
            return web.Response(text=text + "\n")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    return runners


async def wait_ready(s: aiohttp.ClientSession) -> None:
    for _ in range(200):
        try:
            async with s.get(f"{ADMIN}/ready") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("miniproxy.envoy did not become ready")


async def show(s: aiohttp.ClientSession, path: str, user: str | None = None) -> tuple[int, str]:
    headers = {"end-user": user} if user else {}
    t0 = time.monotonic()
    async with s.get(PROXY + path, headers=headers) as r:
        body = (await r.text()).strip()
        extra = " x-envoy-overloaded" if r.headers.get("x-envoy-overloaded") else ""
        print(
            f"  GET {path:<16} as {user or 'anonymous':<9} -> {r.status}{extra} {body[:60]!r} ({time.monotonic() - t0:.1f}s)"
        )
        return r.status, body


async def stat(s: aiohttp.ClientSession, name: str) -> str:
    async with s.get(f"{ADMIN}/stats?filter={name}") as r:
        return (await r.text()).strip()


async def routing(s):
    for user in ("jason", "kim", None):
        await show(s, "/reviews", user)


async def shifting(s):
    counts = collections.Counter()
    for _ in range(100):
        async with s.get(PROXY + "/reviews") as r:
            counts[(await r.text()).split(":")[0]] += 1
    print(f"  100 requests to /reviews: {dict(counts)}  (weights 90/10)")


async def fault(s):
    await show(s, "/ratings", "kim")
    await show(s, "/ratings", "jason")  # 7 s delay
    await show(s, "/ratings/abort", "jason")
    print("  " + (await stat(s, "fault\\.(aborts|delays)_injected")).replace("\n", "\n  "))


async def breaker(s):
    results = await asyncio.gather(*(show(s, "/slow") for _ in range(4)))
    print(
        f"  {sum(r[0] == 503 for r in results)} of 4 concurrent requests were turned away by the breaker"
    )
    await show(s, "/fail")
    print("  " + (await stat(s, "outlier_detection.ejections_active")).replace("\n", "\n  "))


async def ratelimit(s):
    for _ in range(7):
        await show(s, "/details")


async def run_scenario(name: str) -> None:
    print(f"== {name}: examples/envoy/{SCENARIOS[name]}")
    proc = subprocess.Popen([sys.executable, "-m", "miniproxy.envoy", "-c", str(HERE / SCENARIOS[name]), "-l", "warning", "--concurrency", "1"],
                            cwd=REPO, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        async with aiohttp.ClientSession() as s:
            await wait_ready(s)
            await globals()[name](s)
    finally:
        proc.terminate()
        proc.wait()


async def main(argv: list[str]) -> int:
    runners = await start_services()
    try:
        if argv and argv[0] == "--services-only":
            print("Bookinfo services on 127.0.0.1:9081-9085; Ctrl-C to stop")
            await asyncio.Event().wait()
        names = list(SCENARIOS) if not argv or argv[0] == "all" else argv
        for name in names:
            if name not in SCENARIOS:
                print(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)} or all")
                return 2
            await run_scenario(name)
    finally:
        for r in runners:
            await r.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
