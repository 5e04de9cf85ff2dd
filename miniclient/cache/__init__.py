"""The informer machinery (k8s.io/client-go/tools/cache)."""
