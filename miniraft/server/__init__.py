"""miniraft.server: the etcd v3 server on top of the miniraft Raft core.

Mirrors etcd-io/etcd server/: storage/mvcc, lease, storage/wal, etcdserver and
etcdserver/api/v3rpc. See docs/miniraft-server.md for the file map.
"""
