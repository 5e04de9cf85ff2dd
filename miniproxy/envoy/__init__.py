"""miniproxy.envoy: an Envoy-like L7 proxy configured with Envoy's own v3 bootstrap."""
