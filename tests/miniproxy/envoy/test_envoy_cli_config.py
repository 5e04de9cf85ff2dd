"""`python -m miniproxy.envoy` as a process: --mode validate exit codes and messages, serving a
config file with --admin-address-path, and every example config parsing into Envoy's protos.

Reference: Envoy docs operations/cli (--mode validate: "configuration '<path>' OK"),
source/exe/main_common.cc.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from miniproxy.envoy.config import EnvoyException, load_bootstrap

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples" / "envoy").glob("*.yaml"))

GOOD = """
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200}}]}]}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
"""


def _envoy(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "miniproxy.envoy", *args], cwd=REPO, text=True, **kw
    )


def test_command_line_validate_and_serve(tmp_path):
    """Three envoy processes at once (interpreter start-up dominates): validate a good config,
    validate a bad one, and serve one until POST /quitquitquit."""
    good, bad, addr_file = tmp_path / "envoy.yaml", tmp_path / "bad.yaml", tmp_path / "admin"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("stat_prefix: s", "stat_prefix: s\n          bogus_field: 1"))
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    ok = _envoy("--mode", "validate", "-c", str(good), **pipes)
    rejected = _envoy("--mode", "validate", "-c", str(bad), **pipes)
    serving = _envoy(
        "-c",
        str(good),
        "--admin-address-path",
        str(addr_file),
        "-l",
        "warning",
        "--concurrency",
        "2",
    )
    try:
        out_ok, err_ok = ok.communicate(timeout=60)
        assert ok.returncode == 0, err_ok
        assert out_ok == f"configuration '{good}' OK\n"
        _, err_bad = rejected.communicate(timeout=60)
        assert rejected.returncode == 1
        assert f"error initializing configuration '{bad}'" in err_bad
        assert "bogus_field: Cannot find field.) has unknown fields" in err_bad
        assert "Traceback" not in err_bad
        for _ in range(600):
            if addr_file.exists() and addr_file.read_text().strip():
                break
            time.sleep(0.05)
        addr = addr_file.read_text().strip()
        # 503 until both worker processes applied the first snapshot, then LIVE.
        for _ in range(400):
            try:
                with urllib.request.urlopen(f"http://{addr}/ready", timeout=5) as r:
                    assert r.read() == b"LIVE\n"
                    break
            except urllib.error.HTTPError as e:
                assert e.code == 503 and e.read() == b"INITIALIZING\n"
                time.sleep(0.05)
        else:
            raise AssertionError("never LIVE")
        req = urllib.request.Request(f"http://{addr}/quitquitquit", method="POST")
        urllib.request.urlopen(req, timeout=5).read()
        assert serving.wait(timeout=20) == 0
    finally:
        for p in (ok, rejected, serving):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_bad_type_url_is_refused_like_envoy():
    with pytest.raises(
        EnvoyException,
        match="Invalid type URL, unknown type: envoy.extensions.filters.http.router.v3.Routerz",
    ):
        load_bootstrap(config_yaml=GOOD.replace("router.v3.Router", "router.v3.Routerz"))


def test_known_but_unimplemented_extension_is_refused():
    text = GOOD.replace(
        '"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        '"@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer, max_request_bytes: 10',
    )
    import envoy.extensions.filters.http.buffer.v3.buffer_pb2  # noqa: F401 (registers the type)

    with pytest.raises(
        EnvoyException,
        match="Didn't find a registered implementation for 'envoy.filters.http.router'",
    ):
        from miniproxy.envoy.server import Server

        Server(load_bootstrap(config_yaml=text)).load_static()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_a_valid_envoy_config(path):
    from miniproxy.envoy.server import Server

    Server(load_bootstrap(str(path))).load_static()
