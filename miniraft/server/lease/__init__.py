"""Leases (etcd server/lease): TTL-bound grants that delete their keys when revoked."""
