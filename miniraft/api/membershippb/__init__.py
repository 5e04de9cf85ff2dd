"""membershippb: member attributes replicated through the Raft log."""
