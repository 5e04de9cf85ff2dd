"""kube-proxy: Services and EndpointSlices rendered to iptables and nftables rules.

Mirrors k8s.io/kubernetes pkg/proxy (iptables and nftables proxiers, change trackers,
topology). Pure renderers and a packet tracer; thin adapters apply the rules to the kernel.
See docs/miniproxy-kubeproxy.md for the map to upstream files.
"""
