"""etcd v3 API protos (etcdserverpb, mvccpb), compiled by tools/gen_protos.py."""
