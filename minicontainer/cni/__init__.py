"""A CNI bridge plugin with host-local IPAM (containernetworking/plugins, in Python)."""
