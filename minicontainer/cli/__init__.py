"""runc's command line (the *.go files at the root of opencontainers/runc)."""
