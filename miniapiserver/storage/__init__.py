"""storage.Interface over etcd v3 (apiserver/pkg/storage, storage/etcd3)."""
