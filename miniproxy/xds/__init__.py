"""miniproxy.xds: an ADS control plane (istiod's role) serving Envoy v3 resources."""
