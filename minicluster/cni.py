"""Each node's CNI network configuration, as kind's kindnet writes /etc/cni/net.d.

Mirrors kindnet's conflist (kind images/kindnetd: a bridge-style plugin chain with
host-local IPAM over the node's podCIDR) using Debian's containernetworking plugins:
`bridge` with the node's side as the pods' default gateway (so ClusterIPs and other
nodes' pods are reachable: the node routes them) and `host-local` over the podCIDR.
"""

from __future__ import annotations

import json
from pathlib import Path

from minicluster.topology import NodePlan


def conflist(n: NodePlan, ipam_dir: str) -> dict:
    return {
        "cniVersion": "0.4.0",
        "name": "minicluster",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",  # one per node namespace, so the upstream name is free
                "isGateway": True,
                "isDefaultGateway": True,
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": n.pod_cidr}]],
                    "dataDir": ipam_dir,
                },
            }
        ],
    }


def write(n: NodePlan, node_root: Path) -> str:
    """Write <node-root>/cni/net.d/10-minicluster.conflist; returns the conf dir."""
    conf_dir = node_root / "cni" / "net.d"
    conf_dir.mkdir(parents=True, exist_ok=True)
    body = conflist(n, str(node_root / "cni" / "ipam"))
    (conf_dir / "10-minicluster.conflist").write_text(json.dumps(body, indent=2))
    return str(conf_dir)
