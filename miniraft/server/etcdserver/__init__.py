"""The etcd server proper (etcd server/etcdserver): txn, apply, membership, the raft loop."""
