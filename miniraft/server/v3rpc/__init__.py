"""The etcd v3 gRPC services (etcd server/etcdserver/api/v3rpc) over grpc.aio."""
