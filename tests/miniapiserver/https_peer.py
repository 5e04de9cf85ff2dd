"""A real HTTPS peer for the API server to call: an aiohttp app on its own thread and loop.

Admission and conversion webhooks are servers the API server dials with the caBundle it
was given; the tests run them in-process with a CA of their own. Subclasses list their
handlers as a path -> handler map.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from miniapiserver.auth import certs

Handler = Callable[[web.Request], Awaitable[web.Response]]


class HttpsPeer:
    def __init__(
        self, workdir: str, routes: dict[str, Handler], hosts: tuple[str, ...] = ("127.0.0.1",)
    ) -> None:
        self.routes = routes
        self.creds = certs.generate(Path(workdir) / "wh", hosts)
        self.ca_bundle = base64.b64encode(self.creds.ca_file.read_bytes()).decode()
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        for path, handler in self.routes.items():
            app.router.add_post(path, handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.creds.cert_file, self.creds.key_file)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
