"""etcdserverpb: rpc.proto (the v3 gRPC API) and raft_internal.proto."""
