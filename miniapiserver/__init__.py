"""miniapiserver: the Kubernetes API server (kube-apiserver) over the etcd v3 API. See docs/miniapiserver.md."""
