"""miniraft: a clone of etcd-io/raft (raft/) and the etcd server (server/)."""
