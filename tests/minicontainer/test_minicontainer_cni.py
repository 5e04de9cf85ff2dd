"""The bridge CNI plugin: pure IPAM, then real network namespaces.

CNI SPEC.md (ADD/CHECK/DEL/VERSION, result and error JSON) and host-local's
allocation order. Real checks: two namespaces on our bridge talk TCP; the
same config under Debian's bridge + host-local gives the same addresses and
routes; DEL (twice) leaves no link, lease or nat chain behind.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import sys
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicontainer.cni import ipam
from minicontainer.cni.bridge import chain_name
from minicontainer.cni.skel import plugin_main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_chain_name_is_cni_format_chain_name():
    # Value computed by Debian's bridge plugin for name "mcnet", id "abc".
    assert chain_name("mcnet", "abc") == "CNI-62a0812a4b8a2012dfb89aeb"


def test_first_address_skips_network_and_gateway():
    rng = ipam.RangeConfig({"subnet": "10.5.0.0/24"})
    assert str(ipam.next_address(rng, set(), None)) == "10.5.0.2"
    assert str(ipam.next_address(rng, set(), ipaddress.ip_address("10.5.0.7"))) == "10.5.0.8"


@given(st.sets(st.integers(1, 14)), st.one_of(st.none(), st.integers(1, 14)))
def test_next_address_is_free_in_range_and_not_gateway(taken_offsets, last):
    rng = ipam.RangeConfig({"subnet": "10.6.0.0/28"})
    base = int(rng.subnet.network_address)
    taken = {ipaddress.ip_address(base + o) for o in taken_offsets}
    last_ip = None if last is None else ipaddress.ip_address(base + last)
    got = ipam.next_address(rng, taken, last_ip)
    free = [ipaddress.ip_address(base + o) for o in range(2, 15)]
    free = [ip for ip in free if ip not in taken]
    if not free:
        assert got is None
    else:
        assert got in free and rng.start <= got <= rng.end and got != rng.gateway


def _plugin_dir(tmp_path):
    d = tmp_path / "cni-bin"
    d.mkdir()
    code = f"import sys;sys.path.insert(0,{REPO!r});from minicontainer.cni.skel import plugin_main;sys.exit(plugin_main())"
    script = d / "minibridge"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{code}"\n')
    script.chmod(0o755)
    for name in ("bridge", "host-local"):
        os.symlink(f"/usr/lib/cni/{name}", d / name)
    return d


def _cni(plugin_dir, command, conf, netns, cid):
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": f"/var/run/netns/{netns}" if netns else "",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(plugin_dir),
        "PATH": os.environ["PATH"],
    }
    proc = subprocess.run(
        [str(plugin_dir / conf["type"])],
        input=json.dumps(conf).encode(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    return proc.returncode, json.loads(proc.stdout or b"null")


@pytest.fixture
def net_env(tmp_path):
    """Unique bridge, subnet, namespaces; everything removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    names = [f"mcns{tag}{i}" for i in range(3)]
    for n in names:
        subprocess.run(["ip", "netns", "add", n], check=True)
    subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}.0/24"
    env = {"tag": tag, "netns": names, "subnet": subnet, "bridges": [f"mcbr{tag}", f"mcbd{tag}"]}
    yield env
    for n in names:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
    for br in env["bridges"]:
        subprocess.run(["ip", "link", "del", br], capture_output=True)


def _conf(env, kind, bridge, data_dir):
    return {
        "cniVersion": "1.0.0",
        "name": f"mcnet{env['tag']}",
        "type": kind,
        "bridge": bridge,
        "isGateway": True,
        "ipMasq": True,
        "ipam": {
            "type": "host-local",
            "subnet": env["subnet"],
            "dataDir": str(data_dir),
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    }


def _inside(netns, *cmd):
    out = subprocess.run(["ip", "netns", "exec", netns, *cmd], capture_output=True, text=True)
    return out.stdout


def _view(netns):
    addrs = json.loads(_inside(netns, "ip", "-j", "-4", "addr", "show", "eth0"))
    routes = _inside(netns, "ip", "-4", "route")
    return [a["local"] + "/" + str(a["prefixlen"]) for a in addrs[0]["addr_info"]], routes


def _nat_rules(tag):
    out = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"mcnet{tag}" in line]


@pytest.mark.root
@pytest.mark.kernel("netns")
@pytest.mark.tool("iptables", "ip")
def test_bridge_plugin_matches_debian_and_connects(net_env, tmp_path):
    plugins = _plugin_dir(tmp_path)
    ns_a, ns_b, ns_ref = net_env["netns"]
    ours = _conf(net_env, "minibridge", net_env["bridges"][0], tmp_path / "ours")
    ref = _conf(net_env, "bridge", net_env["bridges"][1], tmp_path / "ref")
    ref["name"] = ours["name"] + "d"
    try:
        code, res_a = _cni(plugins, "ADD", ours, ns_a, "ctr-a")
        assert code == 0, res_a
        code, res_ref = _cni(plugins, "ADD", ref, ns_ref, "ctr-a")
        assert code == 0, res_ref
        assert res_a["ips"] == res_ref["ips"] and res_a["routes"] == res_ref["routes"]
        assert [i["name"] for i in res_a["interfaces"]][::2] == [ours["bridge"], "eth0"]
        assert _view(ns_a) == _view(ns_ref)
        assert _cni(plugins, "CHECK", ours, ns_a, "ctr-a")[0] == 0
        code, res_b = _cni(plugins, "ADD", ours, ns_b, "ctr-b")
        assert code == 0, res_b
        ip_a = res_a["ips"][0]["address"].split("/")[0]
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns_a,
                sys.executable,
                "-c",
                "import socket;s=socket.create_server(('0.0.0.0',7777));c,_=s.accept();"
                "c.sendall(c.recv(100).upper());c.close()",
            ],
        )
        client_code = (
            "import socket,time\nfor _ in range(100):\n try:\n"
            f"  c=socket.create_connection(('{ip_a}',7777),timeout=2);break\n"
            " except OSError: time.sleep(0.05)\nc.sendall(b'ping');print(c.recv(100).decode())"
        )
        reply = _inside(ns_b, sys.executable, "-c", client_code)
        server.wait(timeout=30)
        assert reply.strip() == "PING"
        assert len(_nat_rules(net_env["tag"])) == 6 + 3  # two containers ours, one Debian
    finally:
        for cid, ns in (("ctr-a", ns_a), ("ctr-b", ns_b)):
            assert _cni(plugins, "DEL", ours, ns, cid)[0] == 0
        assert _cni(plugins, "DEL", ours, ns_a, "ctr-a")[0] == 0  # idempotent
        _cni(plugins, "DEL", ref, ns_ref, "ctr-a")
    assert _nat_rules(net_env["tag"]) == []
    leases = os.listdir(tmp_path / "ours" / ours["name"])
    assert sorted(leases) == ["last_reserved_ip.0", "lock"]
    assert "eth0" not in _inside(ns_a, "ip", "link")


def test_version_and_errors_are_cni_json(capsys):
    assert plugin_main({"CNI_COMMAND": "VERSION"}, b"") == 0
    assert "1.0.0" in json.loads(capsys.readouterr().out)["supportedVersions"]
    assert plugin_main({"CNI_COMMAND": "ADD"}, b"{}") == 1
    err = json.loads(capsys.readouterr().out)
    assert err["code"] == 4 and err["msg"].startswith("required env variables [")
    env = {k: "x" for k in ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH")}
    assert plugin_main({**env, "CNI_COMMAND": "ADD"}, b'{"cniVersion": "9.9.9"}') == 1
    assert json.loads(capsys.readouterr().out)["code"] == 1
    assert plugin_main({**env, "CNI_COMMAND": "ADD"}, b"{bad") == 1
    assert json.loads(capsys.readouterr().out)["code"] == 6
