"""raftpb: raft.proto, the wire and WAL form of Raft messages and entries."""
