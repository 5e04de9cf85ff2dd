"""The etcd v3 client (the clientv3 subset kube-apiserver uses)."""
