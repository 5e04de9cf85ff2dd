"""Kernel adapters: hand rendered rules to iptables-restore or nft, and read them back.

Mirrors k8s.io/kubernetes pkg/util/iptables/iptables.go (EnsureChain, EnsureRule,
RestoreAll with NoFlushTables, SaveInto, GetChainsFromTable) and the knftables runner
(`nft -f -`, List), plus the CleanupLeftovers functions of both proxiers. Every command can
run inside a network namespace (`ip netns exec NS ...`) so tests never touch the host.
Omitted: the iptables Monitor canary chains, the xtables lock wait flags' tuning.
"""

from __future__ import annotations

import re
import subprocess

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.iptables_chains import (
    JUMP_CHAINS,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FIREWALL,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
)


class KernelError(RuntimeError):
    """A netfilter tool failed; the message is the tool's own stderr."""


def _run(
    argv: list[str], stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise KernelError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


class _Netns:
    def __init__(self, netns: str | None):
        self.netns = netns

    def cmd(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)


class IptablesKernel(_Netns):
    """utiliptables.Interface over the iptables binaries: "" (the system's default, on
    Debian the nf_tables one), "legacy" or "nft" for iptables-legacy / iptables-nft."""

    def __init__(self, netns: str | None, variant: str = ""):
        super().__init__(netns)
        suffix = f"-{variant}" if variant else ""
        self.iptables = f"iptables{suffix}"
        self.restore_bin, self.save_bin = f"iptables{suffix}-restore", f"iptables{suffix}-save"

    def ensure_jump_rules(self) -> None:
        """EnsureChain + EnsureRule(Prepend) for every iptablesJumpChains entry."""
        for jump in JUMP_CHAINS:
            _run(self.cmd(self.iptables, "-w", "-t", jump.table, "-N", jump.dst_chain), check=False)
            args = jump.rule_args()
            check = _run(
                self.cmd(self.iptables, "-w", "-t", jump.table, "-C", jump.src_chain, *args),
                check=False,
            )
            if check.returncode != 0:
                _run(
                    self.cmd(
                        self.iptables, "-w", "-t", jump.table, "-I", jump.src_chain, "1", *args
                    )
                )

    def restore(self, text: str) -> None:
        """RestoreAll(NoFlushTables, RestoreCounters): only the chains named are replaced."""
        _run(self.cmd(self.restore_bin, "-w", "--noflush", "--counters"), stdin=text)

    def save(self, table: str) -> str:
        return _run(self.cmd(self.save_bin, "-t", table)).stdout

    def chains(self, table: str) -> set[str]:
        """GetChainsFromTable: the chain names declared in an iptables-save dump."""
        return {
            line[1:].split()[0] for line in self.save(table).splitlines() if line.startswith(":")
        }

    def cleanup(self) -> None:
        """CleanupLeftovers: unlink our chains, then flush and delete them."""
        for jump in JUMP_CHAINS:
            _run(
                self.cmd(
                    self.iptables, "-w", "-t", jump.table, "-D", jump.src_chain, *jump.rule_args()
                ),
                check=False,
            )
        nat_top = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]
        filter_top = [
            KUBE_SERVICES,
            KUBE_EXTERNAL_SERVICES,
            KUBE_FORWARD,
            KUBE_NODEPORTS,
            KUBE_PROXY_FIREWALL,
        ]
        filter_top.append(KUBE_FIREWALL)
        for table, top in (("nat", nat_top), ("filter", filter_top)):
            existing = self.chains(table)
            ours = [c for c in top if c in existing]
            ours += sorted(c for c in existing if names.is_service_chain_name(c))
            if not ours:
                continue
            lines = (
                [f"*{table}"]
                + [f":{c} - [0:0]" for c in ours]
                + [f"-X {c}" for c in ours]
                + ["COMMIT", ""]
            )
            self.restore("\n".join(lines))


_CHAIN_LINE = re.compile(r"^\s*(chain|set|map) (\S+) \{")


class NftKernel(_Netns):
    """knftables.Interface over the nft binary, for table `ip kube-proxy`."""

    table = "kube-proxy"

    def run(self, text: str) -> None:
        """nft -f -: the whole transaction applies atomically or not at all."""
        _run(self.cmd("nft", "-f", "-"), stdin=text)

    def list_table(self) -> str:
        proc = _run(self.cmd("nft", "list", "table", "ip", self.table), check=False)
        return proc.stdout if proc.returncode == 0 else ""

    def objects(self) -> tuple[set[str], set[str]]:
        """(chains, sets) in our table: `nft list chains` / `nft -t list sets` (terse: no
        elements), never the rules."""
        found: dict[str, set[str]] = {"chain": set(), "set": set(), "map": set()}
        for what in ("chains", "sets"):
            proc = _run(self.cmd("nft", "-t", "list", what, "ip"), check=False)
            for line in proc.stdout.splitlines():
                m = _CHAIN_LINE.match(line)
                if m:
                    found[m.group(1)].add(m.group(2))
        return found["chain"], found["set"]

    def cleanup(self) -> None:
        """CleanupLeftovers: delete the whole table; a missing table is not an error."""
        _run(self.cmd("nft", "delete", "table", "ip", self.table), check=False)
