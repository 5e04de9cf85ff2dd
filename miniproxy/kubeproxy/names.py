"""Chain, set and map names: the hashes both proxiers compute for a service port.

Mirrors pkg/proxy/iptables/proxier.go (portProtoHash, servicePortPolicyClusterChain,
servicePortPolicyLocalChainName, serviceFirewallChainName, serviceExternalChainName,
servicePortEndpointChainName, isServiceChainName) and pkg/proxy/nftables/proxier.go
(hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase).
iptables: first 16 chars of base32(sha256(name + protocol [+ endpoint])), because chain
names are limited to 28 chars. nftables: 8 chars of the hash, then the readable name.
"""

from __future__ import annotations

import functools
import hashlib

from miniproxy.kubeproxy.types import EndpointInfo, ServicePortName

SVC_PREFIX = "KUBE-SVC-"
SVL_PREFIX = "KUBE-SVL-"
FW_PREFIX = "KUBE-FW-"
EXT_PREFIX = "KUBE-EXT-"
SEP_PREFIX = "KUBE-SEP-"
_SERVICE_CHAIN_PREFIXES = (SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX)

# The nftables proxier's table (pkg/proxy/nftables: kubeProxyTable), family ip.
NFT_TABLE = "kube-proxy"
# knftables.NameLengthMax (256) minus chainNamePrefixLengthMax (16).
_NFT_BASE_MAX = 256 - 16


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Two base32 characters for every 10-bit value: base64.b32encode is pure Python in 3.11,
# and every endpoint's chain name needs one.
_B32_PAIRS = [_B32[i >> 5] + _B32[i & 31] for i in range(1024)]


def _b32sha(text: str, chars: int) -> str:
    """The first `chars` (a multiple of 8) chars of base32(sha256(text)): each 5 bytes
    encode to 8 chars, so only the leading bytes are needed, read 10 bits at a time."""
    n_bytes = chars * 5 // 8
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:n_bytes], "big")
    pairs = _B32_PAIRS
    return "".join([pairs[(n >> shift) & 1023] for shift in range(n_bytes * 8 - 10, -1, -10)])


@functools.lru_cache(maxsize=1 << 16)
def port_proto_hash(svc_port_name: str, protocol: str) -> str:
    """portProtoHash: 16 base32 chars of sha256(servicePortName + protocol)."""
    return _b32sha(svc_port_name + protocol, 16)


def svc_chain(spn: ServicePortName) -> str:
    return SVC_PREFIX + port_proto_hash(str(spn), spn.protocol.lower())


def svl_chain(spn: ServicePortName) -> str:
    return SVL_PREFIX + port_proto_hash(str(spn), spn.protocol.lower())


def fw_chain(spn: ServicePortName) -> str:
    return FW_PREFIX + port_proto_hash(str(spn), spn.protocol.lower())


def ext_chain(spn: ServicePortName) -> str:
    return EXT_PREFIX + port_proto_hash(str(spn), spn.protocol.lower())


def sep_chain(spn: ServicePortName, endpoint: EndpointInfo) -> str:
    """servicePortEndpointChainName: the endpoint's "ip:port" is hashed in too."""
    return SEP_PREFIX + _b32sha(str(spn) + spn.protocol.lower() + str(endpoint), 16)


def is_service_chain_name(chain: str) -> bool:
    """isServiceChainName (iptables): the per-service chains a sync may delete."""
    return chain.startswith(_SERVICE_CHAIN_PREFIXES)


def hash_and_truncate(name: str) -> str:
    """hashAndTruncate: prefix 8 hash chars so similar names stay distinguishable."""
    name = _b32sha(name, 8) + "-" + name
    if len(name) > _NFT_BASE_MAX:
        name = name[: _NFT_BASE_MAX - 3] + "..."
    return name


@functools.lru_cache(maxsize=1 << 16)
def nft_chain_base(spn: ServicePortName) -> str:
    """servicePortChainNameBase, e.g. "ULMVA6XW-ns1/svc1/tcp/p80"."""
    return hash_and_truncate(f"{spn.namespace}/{spn.name}/{spn.protocol.lower()}/{spn.port}")


def nft_endpoint_base(spn: ServicePortName, endpoint: EndpointInfo) -> str:
    """servicePortEndpointChainNameBase, e.g. "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"."""
    ip = endpoint.ip.replace(":", ".")
    base = f"{spn.namespace}/{spn.name}/{spn.protocol.lower()}/{spn.port}"
    return hash_and_truncate(f"{base}__{ip}/{endpoint.port}")


def nft_is_service_chain_name(chain: str) -> bool:
    """Service and endpoint chains are the only ones with a "/" in their name."""
    return "/" in chain
