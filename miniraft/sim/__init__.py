"""A deterministic simulator for miniraft.raft: seeded network, faults, clients,
safety checkers and a liveness check (`python -m miniraft sim`)."""
