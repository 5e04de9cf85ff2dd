"""Write-ahead log and snapshot files (etcd server/storage/wal, server/etcdserver/api/snap)."""
