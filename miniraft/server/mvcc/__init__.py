"""Multi-version key-value store (etcd server/storage/mvcc), pure and in memory."""
