"""Peer transport between members (the role of etcd server/etcdserver/api/rafthttp)."""
