"""The CNI plugin skeleton: environment + stdin in, result or error JSON out.

Mirrors containernetworking/cni pkg/skel (PluginMain: CNI_COMMAND,
CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH; VERSION answers
without a config) and pkg/types (Error with code/msg/details, the well-known
codes). Exit status 1 and the error JSON on stdout on failure, as the spec says.
"""

from __future__ import annotations

import json
import os
import sys

SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]

ERR_INCOMPATIBLE_CNI_VERSION = 1
ERR_UNSUPPORTED_FIELD = 2
ERR_UNKNOWN_CONTAINER = 3
ERR_INVALID_ENVIRONMENT_VARIABLES = 4
ERR_IO_FAILURE = 5
ERR_DECODING_FAILURE = 6
ERR_INVALID_NETWORK_CONFIG = 7
ERR_INTERNAL = 999


class CNIError(Exception):
    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details

    def to_json(self, version: str) -> dict:
        out = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class CmdArgs:
    """skel.CmdArgs."""

    def __init__(self, env: dict, stdin: bytes) -> None:
        self.container_id = env.get("CNI_CONTAINERID", "")
        self.netns = env.get("CNI_NETNS", "")
        self.ifname = env.get("CNI_IFNAME", "")
        self.args = env.get("CNI_ARGS", "")
        self.path = env.get("CNI_PATH", "")
        self.stdin = stdin


_REQUIRED = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"),
}


def parse_config(stdin: bytes) -> dict:
    try:
        conf = json.loads(stdin or b"{}")
    except json.JSONDecodeError as e:
        raise CNIError(ERR_DECODING_FAILURE, "failed to load netconf", str(e)) from None
    version = conf.get("cniVersion", "0.1.0")
    if version not in SUPPORTED_VERSIONS:
        raise CNIError(
            ERR_INCOMPATIBLE_CNI_VERSION,
            "incompatible CNI versions",
            f'config is "{version}", plugin supports {SUPPORTED_VERSIONS}',
        )
    return conf


def plugin_main(env: dict | None = None, stdin: bytes | None = None) -> int:
    from minicontainer.cni import bridge

    env = dict(os.environ) if env is None else env
    cmd = env.get("CNI_COMMAND", "")
    if cmd == "VERSION":
        print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": SUPPORTED_VERSIONS}))
        return 0
    raw = sys.stdin.buffer.read() if stdin is None else stdin
    version = "1.0.0"
    try:
        if cmd not in _REQUIRED:
            raise CNIError(ERR_INVALID_ENVIRONMENT_VARIABLES, f"unknown CNI_COMMAND: {cmd}")
        missing = [k for k in _REQUIRED[cmd] if not env.get(k)]
        if missing:
            raise CNIError(
                ERR_INVALID_ENVIRONMENT_VARIABLES,
                "required env variables [" + ",".join(missing) + "] missing",
            )
        conf = parse_config(raw)
        version = conf.get("cniVersion", version)
        args = CmdArgs(env, raw)
        handler = {"ADD": bridge.cmd_add, "DEL": bridge.cmd_del, "CHECK": bridge.cmd_check}[cmd]
        result = handler(args, conf)
        if result is not None:
            print(json.dumps(result))
        return 0
    except CNIError as e:
        print(json.dumps(e.to_json(version)))
        return 1
    except OSError as e:
        print(json.dumps(CNIError(ERR_IO_FAILURE, str(e)).to_json(version)))
        return 1
