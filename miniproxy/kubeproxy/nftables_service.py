"""The per-service part of the nftables sync, and the transaction it writes into.

Mirrors the service loop of k8s.io/kubernetes pkg/proxy/nftables/proxier.go syncProxyRules,
writeServiceToEndpointRules, ensureChain and nftElementStorage (ensureElem,
cleanupLeftoverKeys). `Tx` plays knftables.Transaction: it collects commands as the text
`nft -f` reads, and keeps map/set contents so that a partial sync emits only the element
changes.
"""

from __future__ import annotations

import functools
import ipaddress

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.topology import categorize_endpoints
from miniproxy.kubeproxy.types import AFFINITY_CLIENT_IP, EndpointInfo, ProxyConfig, ServicePortInfo

_SETS = {"cluster-ips"}


class Tx:
    """A knftables-style transaction over one table, with element bookkeeping."""

    def __init__(self, table: str, elements: dict[str, dict[str, str]]):
        self.table = table
        self.lines: list[str] = []
        self._elements = elements
        self._seen: dict[str, set[str]] = {name: set() for name in elements}

    def cmd(self, line: str) -> None:
        self.lines.append(line)

    def ensure_chain(self, chain: str, created: set[str], skip: bool = False) -> None:
        """ensureChain: add and flush once per transaction; skipped chains still count."""
        if chain in created:
            return
        created.add(chain)
        if not skip:
            self.cmd(f"add chain ip {self.table} {chain}")
            self.cmd(f"flush chain ip {self.table} {chain}")

    def rule(self, chain: str, rule: str, comment: str | None = None) -> None:
        tail = f' comment "{comment}"' if comment else ""
        self.cmd(f"add rule ip {self.table} {chain} {rule}{tail}")

    def ensure_elem(self, container: str, key: str, value: str = "", comment: str = "") -> None:
        """nftElementStorage.ensureElem: add new keys, replace changed values, keep the rest."""
        store = self._elements.setdefault(container, {})
        self._seen.setdefault(container, set()).add(key)
        if key in store and store[key] == value:
            return
        if key in store:
            self.cmd(f"delete element ip {self.table} {container} {{ {key} }}")
        store[key] = value
        note = f' comment "{comment}"' if comment else ""
        body = f"{key}{note}" if container in _SETS else f"{key}{note} : {value}"
        self.cmd(f"add element ip {self.table} {container} {{ {body} }}")

    def cleanup_leftovers(self) -> None:
        """cleanupLeftoverKeys: delete every element that this sync did not ensure."""
        for container in sorted(self._elements):
            store, seen = self._elements[container], self._seen.get(container, set())
            for key in sorted(set(store) - seen):
                self.cmd(f"delete element ip {self.table} {container} {{ {key} }}")
                del store[key]

    def elements_snapshot(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self._elements.items()}

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


class ServiceWriter:
    """Writes one service port's elements (always) and chains (unless skipped)."""

    def __init__(self, tx: Tx, cfg: ProxyConfig):
        self.tx, self.cfg = tx, cfg
        self.affinity_sets: set[str] = set()

    def write(
        self, svc: ServicePortInfo, endpoints: list[EndpointInfo], created: set[str], skip: bool
    ) -> None:
        spn, tx = svc.name, self.tx
        cat = categorize_endpoints(endpoints, svc, self.cfg.zone)
        base = names.nft_chain_base(spn)
        cluster_chain, local_chain = "service-" + base, "local-" + base
        ext_chain, fw_chain = "external-" + base, "firewall-" + base
        ep_base = _endpoint_bases(spn, tuple(cat.all_reachable))
        for ep in cat.all_reachable:
            tx.ensure_chain("endpoint-" + ep_base[str(ep)], created, skip)
            if svc.session_affinity_type == AFFINITY_CLIENT_IP:
                self.affinity_sets.add("affinity-" + ep_base[str(ep)])
        uses_cluster = bool(cat.cluster) and svc.uses_cluster_endpoints()
        uses_local = bool(cat.local) and svc.uses_local_endpoints()
        if uses_cluster:
            tx.ensure_chain(cluster_chain, created, skip)
        if uses_local:
            tx.ensure_chain(local_chain, created, skip)
        has_any = cat.has_any
        internal_chain = local_chain if svc.internal_policy_local else cluster_chain
        has_internal = has_any and not (svc.internal_policy_local and not cat.local)
        external_policy_chain = local_chain if svc.external_policy_local else cluster_chain
        has_external = has_any and not (svc.external_policy_local and not cat.local)
        uses_ext = has_any and svc.externally_accessible()
        if uses_ext:
            tx.ensure_chain(ext_chain, created, skip)
        verdicts = _filter_verdicts(has_any, has_internal, has_external)
        uses_fw = bool(svc.load_balancer_vips) and bool(svc.load_balancer_source_ranges)
        if uses_fw:
            tx.ensure_chain(fw_chain, created, skip)
        self._elements(
            svc,
            internal_chain,
            ext_chain,
            fw_chain,
            has_internal,
            has_external,
            has_any,
            uses_fw,
            verdicts,
        )
        if skip:
            return
        self._internal_rules(svc, internal_chain, has_internal)
        if uses_ext:
            self._external_rules(svc, ext_chain, cluster_chain, external_policy_chain, has_external)
        if uses_fw:
            self._firewall_rule(svc, fw_chain)
        self._endpoint_chains(
            svc, cat, ep_base, cluster_chain, local_chain, uses_cluster, uses_local
        )

    def _elements(
        self,
        svc,
        internal_chain,
        ext_chain,
        fw_chain,
        has_internal,
        has_external,
        has_any,
        uses_fw,
        verdicts,
    ) -> None:
        tx, proto, port, name = self.tx, svc.lower_protocol, svc.port, str(svc.name)
        internal_verdict, external_verdict = verdicts
        tx.ensure_elem("cluster-ips", svc.cluster_ip)
        if has_internal:
            tx.ensure_elem(
                "service-ips", f"{svc.cluster_ip} . {proto} . {port}", f"goto {internal_chain}"
            )
        else:
            tx.ensure_elem(
                "no-endpoint-services",
                f"{svc.cluster_ip} . {proto} . {port}",
                internal_verdict,
                name,
            )
        for ip in svc.external_ips:
            if has_any:
                tx.ensure_elem("service-ips", f"{ip} . {proto} . {port}", f"goto {ext_chain}")
            if not has_external:
                tx.ensure_elem(
                    "no-endpoint-services", f"{ip} . {proto} . {port}", external_verdict, name
                )
        for ip in svc.load_balancer_vips:
            if has_any:
                tx.ensure_elem("service-ips", f"{ip} . {proto} . {port}", f"goto {ext_chain}")
            if uses_fw:
                tx.ensure_elem("firewall-ips", f"{ip} . {proto} . {port}", f"goto {fw_chain}")
        if not has_external:
            for ip in svc.load_balancer_vips:
                tx.ensure_elem(
                    "no-endpoint-services", f"{ip} . {proto} . {port}", external_verdict, name
                )
        if svc.node_port:
            if has_any:
                tx.ensure_elem(
                    "service-nodeports", f"{proto} . {svc.node_port}", f"goto {ext_chain}"
                )
            if not has_external:
                tx.ensure_elem(
                    "no-endpoint-nodeports", f"{proto} . {svc.node_port}", external_verdict, name
                )

    def _internal_rules(self, svc: ServicePortInfo, chain: str, has_internal: bool) -> None:
        if not has_internal:
            return
        match = f"ip daddr {svc.cluster_ip} {svc.lower_protocol} dport {svc.port}"
        if self.cfg.masquerade_all:
            self.tx.rule(chain, f"{match} jump mark-for-masquerade")
        elif self.cfg.cluster_cidr:
            # Off-cluster sources reaching a ClusterIP may bounce off-node: masquerade them.
            self.tx.rule(
                chain, f"{match} ip saddr != {self.cfg.cluster_cidr} jump mark-for-masquerade"
            )

    def _external_rules(self, svc, ext_chain, cluster_chain, policy_chain, has_external) -> None:
        tx = self.tx
        if not svc.external_policy_local:
            tx.rule(ext_chain, "jump mark-for-masquerade")
        else:
            if self.cfg.cluster_cidr:
                tx.rule(
                    ext_chain,
                    f"ip saddr {self.cfg.cluster_cidr} goto {cluster_chain}",
                    "short-circuit pod traffic",
                )
            tx.rule(
                ext_chain,
                "fib saddr type local jump mark-for-masquerade",
                "masquerade local traffic",
            )
            tx.rule(
                ext_chain,
                f"fib saddr type local goto {cluster_chain}",
                "short-circuit local traffic",
            )
        if has_external:
            tx.rule(ext_chain, f"goto {policy_chain}")

    def _firewall_rule(self, svc: ServicePortInfo, fw_chain: str) -> None:
        sources = list(svc.load_balancer_source_ranges)
        node_ip = self.cfg.node_ips[0] if self.cfg.node_ips else None
        if node_ip and any(_contains(c, node_ip) for c in sources):
            sources += list(svc.load_balancer_vips)
        self.tx.rule(fw_chain, f"ip saddr != {{ {', '.join(sources)} }} drop")

    def _endpoint_chains(
        self, svc, cat, ep_base, cluster_chain, local_chain, uses_cluster, uses_local
    ) -> None:
        tx, affinity = self.tx, svc.session_affinity_type == AFFINITY_CLIENT_IP
        if affinity:
            for ep in cat.all_reachable:
                timeout = f"timeout {svc.sticky_max_age_seconds}s"
                tx.cmd(
                    f"add set ip {tx.table} affinity-{ep_base[str(ep)]} "
                    f"{{ type ipv4_addr ; flags dynamic,timeout ; {timeout} ; }}"
                )
        if uses_cluster:
            self._service_to_endpoints(svc, cluster_chain, cat.cluster, ep_base)
        if uses_local:
            self._service_to_endpoints(svc, local_chain, cat.local, ep_base)
        for ep in cat.all_reachable:
            chain = "endpoint-" + ep_base[str(ep)]
            # Hairpin: a pod reaching itself through its service must be masqueraded.
            tx.rule(chain, f"ip saddr {ep.ip} jump mark-for-masquerade")
            if affinity:
                tx.rule(chain, f"update @affinity-{ep_base[str(ep)]} {{ ip saddr }}")
            tx.rule(chain, f"meta l4proto {svc.lower_protocol} dnat to {ep}")

    def _service_to_endpoints(
        self, svc, chain: str, endpoints: list[EndpointInfo], ep_base
    ) -> None:
        """writeServiceToEndpointRules: affinity lookups, then one numgen vmap."""
        if svc.session_affinity_type == AFFINITY_CLIENT_IP:
            for ep in endpoints:
                b = ep_base[str(ep)]
                self.tx.rule(chain, f"ip saddr @affinity-{b} goto endpoint-{b}")
        if self.cfg.nftables_endpoint_ladder:
            n = len(endpoints)
            for i, ep in enumerate(endpoints):
                # Rule i takes 1/(n-i) of what is left: uniform, as computeProbability.
                chance = f"numgen random mod {n - i} 0 " if i < n - 1 else ""
                self.tx.rule(chain, f"{chance}goto endpoint-{ep_base[str(ep)]}")
            return
        entries = " , ".join(
            f"{i} : goto endpoint-{ep_base[str(ep)]}" for i, ep in enumerate(endpoints)
        )
        self.tx.rule(chain, f"numgen random mod {len(endpoints)} vmap {{ {entries} }}")


@functools.lru_cache(maxsize=1 << 16)
def _endpoint_bases(spn, endpoints: tuple[EndpointInfo, ...]) -> dict[str, str]:
    """ "ip:port" -> endpoint chain base; cached like upstream's endpointInfo.chainName."""
    return {str(ep): names.nft_endpoint_base(spn, ep) for ep in endpoints}


def _filter_verdicts(has_any: bool, has_internal: bool, has_external: bool) -> tuple[str, str]:
    """REJECT (via reject-chain) without endpoints; drop for a Local policy without local ones."""
    if not has_any:
        return "goto reject-chain", "goto reject-chain"
    return ("" if has_internal else "drop"), ("" if has_external else "drop")


def _contains(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
