"""The watch cache (apiserver/pkg/storage/cacher)."""
