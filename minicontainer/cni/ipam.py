"""host-local IPAM: allocate addresses from a range, leases as files under a lock.

Mirrors containernetworking/plugins plugins/ipam/host-local (allocator.go
RangeIter: start after the last reserved address, wrap around, skip the
gateway and taken addresses; backend/disk/backend.go: one file per address
holding "<id>\\r\\n<ifname>", last_reserved_ip.<range>, an flock'ed `lock`).
`next_address` is pure; `Store` does the files.
Omitted: multiple range sets, IPv6, `ip=` requests in CNI_ARGS.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os

LINE_BREAK = "\r\n"
DEFAULT_DATA_DIR = "/var/lib/cni/networks"


class RangeConfig:
    """One `ipam.ranges` entry (or the top-level subnet form)."""

    def __init__(self, conf: dict) -> None:
        self.subnet = ipaddress.ip_network(conf["subnet"], strict=False)
        hosts_first = self.subnet.network_address + 1
        hosts_last = self.subnet.broadcast_address - 1
        self.start = ipaddress.ip_address(conf.get("rangeStart") or hosts_first)
        self.end = ipaddress.ip_address(conf.get("rangeEnd") or hosts_last)
        self.gateway = ipaddress.ip_address(conf.get("gateway") or hosts_first)


def range_from_ipam(ipam: dict) -> RangeConfig:
    if ipam.get("ranges"):
        return RangeConfig(ipam["ranges"][0][0])
    return RangeConfig(ipam)


def next_address(rng: RangeConfig, taken: set, last_reserved) -> ipaddress.IPv4Address | None:
    """RangeIter: the first free address after `last_reserved`, wrapping once."""
    size = int(rng.end) - int(rng.start) + 1
    if last_reserved is not None and rng.start <= last_reserved <= rng.end:
        first = int(last_reserved) + 1
    else:
        first = int(rng.start)
    for i in range(size):
        cand = ipaddress.ip_address(int(rng.start) + (first - int(rng.start) + i) % size)
        if cand != rng.gateway and cand not in taken:
            return cand
    return None


class Store:
    """backend/disk: the lease directory of one network, locked for each operation."""

    def __init__(self, network: str, data_dir: str | None) -> None:
        self.dir = os.path.join(data_dir or DEFAULT_DATA_DIR, network)
        os.makedirs(self.dir, exist_ok=True)
        self._lock_fd = -1

    def __enter__(self) -> Store:
        self._lock_fd = os.open(os.path.join(self.dir, "lock"), os.O_RDONLY | os.O_CREAT, 0o750)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self._lock_fd)

    def taken(self) -> set:
        out = set()
        for name in os.listdir(self.dir):
            try:
                out.add(ipaddress.ip_address(name))
            except ValueError:
                continue
        return out

    def last_reserved(self):
        try:
            with open(os.path.join(self.dir, "last_reserved_ip.0")) as f:
                return ipaddress.ip_address(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def reserve(self, container_id: str, ifname: str, ip) -> None:
        fd = os.open(os.path.join(self.dir, str(ip)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", newline="") as f:
            f.write(container_id + LINE_BREAK + ifname)
        with open(os.path.join(self.dir, "last_reserved_ip.0"), "w") as f:
            f.write(str(ip))

    def find(self, container_id: str, ifname: str) -> list:
        want = container_id + LINE_BREAK + ifname
        out = []
        for ip in self.taken():
            # newline="": keep the "\r\n" that universal newlines would turn into "\n".
            with open(os.path.join(self.dir, str(ip)), newline="") as f:
                if f.read().strip() == want:
                    out.append(ip)
        return out

    def release(self, container_id: str, ifname: str) -> None:
        for ip in self.find(container_id, ifname):
            os.unlink(os.path.join(self.dir, str(ip)))


def allocate(ipam: dict, network: str, container_id: str, ifname: str) -> tuple:
    """ADD: (address with prefix, gateway, routes) for the container."""
    rng = range_from_ipam(ipam)
    with Store(network, ipam.get("dataDir")) as store:
        existing = store.find(container_id, ifname)
        ip = existing[0] if existing else next_address(rng, store.taken(), store.last_reserved())
        if ip is None:
            raise OSError(f"no IP addresses available in range set: {rng.start}-{rng.end}")
        if not existing:
            store.reserve(container_id, ifname, ip)
    iface = ipaddress.ip_interface(f"{ip}/{rng.subnet.prefixlen}")
    return iface, rng.gateway, list(ipam.get("routes") or [])


def release(ipam: dict, network: str, container_id: str, ifname: str) -> None:
    with Store(network, ipam.get("dataDir")) as store:
        store.release(container_id, ifname)
