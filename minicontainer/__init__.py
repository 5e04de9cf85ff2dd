"""minicontainer: an OCI runtime with runc's command line.

Mirrors opencontainers/runc (the CLI in the repository root and libcontainer/).
The runtime path imports only the standard library (`_ctypes`, `_json`, os) so that a
`run` costs little more than the interpreter start-up.
"""
