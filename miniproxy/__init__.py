"""kube-proxy and an Envoy-like proxy, with an xDS control plane."""
