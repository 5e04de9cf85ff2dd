"""Calling CNI plugins for a pod sandbox, as the kubelet's runtime does through libcni.

Mirrors containernetworking/cni libcni/api.go (AddNetworkList / DelNetworkList: each
plugin of a conflist in order with the previous result injected as prevResult; DEL in
reverse) and conf.go (ConfFiles, the lexically first .conf/.conflist/.json in the conf
dir wins, as in containerd's CRI plugin). Also writes a default bridge + host-local
conflist for --pod-cidr when the conf dir is empty.
Omitted: CHECK, GC, result caching, capability args (portMappings, bandwidth).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass


class CNIError(Exception):
    """A plugin failed: its code and msg, as the CNI spec's error JSON carries them."""


@dataclass(frozen=True)
class NetworkConfigList:
    name: str
    cni_version: str
    plugins: list[dict]


def load_conf_list(conf_dir: str) -> NetworkConfigList:
    names = sorted(n for n in os.listdir(conf_dir) if n.endswith((".conf", ".conflist", ".json")))
    if not names:
        raise CNIError(f"no networks found in {conf_dir}")
    with open(os.path.join(conf_dir, names[0])) as f:
        data = json.load(f)
    plugins = data.get("plugins") or [data]
    return NetworkConfigList(data["name"], data.get("cniVersion", "0.4.0"), plugins)


def write_default_conf(conf_dir: str, bridge: str, pod_cidr: str, data_dir: str) -> None:
    """A conflist for Debian's bridge + host-local (+ loopback) on the node's pod CIDR."""
    os.makedirs(conf_dir, exist_ok=True)
    conf = {
        "cniVersion": "0.4.0",
        "name": "minikubelet",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                # The pod's default route via the bridge: ClusterIPs and other nodes' pods
                # are reached through the node, where kube-proxy's rules live.
                "isDefaultGateway": True,
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "dataDir": data_dir,
                },
            }
        ],
    }
    with open(os.path.join(conf_dir, "10-minikubelet.conflist"), "w") as f:
        json.dump(conf, f, indent=2)


def _exec_plugin(bin_dirs: list[str], conf: dict, env: dict[str, str]) -> dict:
    kind = conf["type"]
    path = next(
        (os.path.join(d, kind) for d in bin_dirs if os.path.isfile(os.path.join(d, kind))), ""
    )
    if not path:
        raise CNIError(f'failed to find plugin "{kind}" in path {bin_dirs}')
    out = subprocess.run(
        [path], input=json.dumps(conf), capture_output=True, text=True,
        env={**os.environ, **env, "CNI_PATH": os.pathsep.join(bin_dirs)}, timeout=60,
    )  # fmt: skip
    result = json.loads(out.stdout) if out.stdout.strip() else {}
    if out.returncode != 0:
        raise CNIError(result.get("msg") or out.stderr.strip() or f"plugin {kind} failed")
    return result


def _run(cmd: str, netlist: NetworkConfigList, bin_dirs: list[str], cid: str, netns: str) -> dict:
    env = {"CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_NETNS": netns, "CNI_IFNAME": "eth0"}
    plugins = netlist.plugins if cmd == "ADD" else list(reversed(netlist.plugins))
    prev: dict = {}
    for plugin in plugins:
        conf = {**plugin, "name": netlist.name, "cniVersion": netlist.cni_version}
        if prev and cmd == "ADD":
            conf["prevResult"] = prev
        result = _exec_plugin(bin_dirs, conf, env)
        if cmd == "ADD":
            prev = result
    return prev


def add_network_list(netlist: NetworkConfigList, bin_dirs: list[str], cid: str, netns: str) -> str:
    """ADD the sandbox to the network; returns its first IP address (no prefix)."""
    result = _run("ADD", netlist, bin_dirs, cid, netns)
    for ip in result.get("ips", []):
        return ip["address"].split("/")[0]
    raise CNIError("the CNI result carried no IP address")


def del_network_list(netlist: NetworkConfigList, bin_dirs: list[str], cid: str, netns: str) -> None:
    _run("DEL", netlist, bin_dirs, cid, netns)
