"""The container library: mirrors opencontainers/runc/libcontainer."""
