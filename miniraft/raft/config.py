"""The parameters of one Raft node.

Mirrors the Config struct of etcd-io/raft raft.go (and Config.validate).
Time is counted in ticks: the application calls tick() at a fixed rate and
chooses what a tick is. The election timeout is randomized per term in
[election_tick, 2*election_tick) from the injected `rand` (§5.2), which is the
only source of randomness in the core.
Omitted: AsyncStorageWrites, Logger, TraceLogger, DisableConfChangeValidation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from miniraft.raft.read_only import ReadOnlyOption
from miniraft.raft.storage import NO_LIMIT, Storage


@dataclass
class Config:
    id: int
    election_tick: int
    heartbeat_tick: int
    storage: Storage
    applied: int = 0
    # Max bytes of entries per MsgApp; 0 means one entry per message.
    max_size_per_msg: int = 1024 * 1024
    max_inflight_msgs: int = 256
    check_quorum: bool = False
    pre_vote: bool = False
    read_only_option: ReadOnlyOption = ReadOnlyOption.READ_ONLY_SAFE
    rand: random.Random | None = None
    max_committed_size_per_ready: int = NO_LIMIT
    max_uncommitted_entries_size: int = NO_LIMIT
    max_inflight_bytes: int = 0
    disable_proposal_forwarding: bool = False
    # A leader removed from the config steps down instead of leading on.
    step_down_on_removal: bool = False
    # Receives etcd-style log lines ("1 became leader at term 2"); None is silent.
    logger: Callable[[str], None] | None = None

    def validate(self) -> None:
        if self.id == 0:
            raise ValueError("cannot use none as id")
        if self.heartbeat_tick <= 0:
            raise ValueError("heartbeat tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ValueError("election tick must be greater than heartbeat tick")
        if self.storage is None:
            raise ValueError("storage cannot be nil")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max inflight messages must be greater than 0")
        if self.max_inflight_bytes and self.max_inflight_bytes < self.max_size_per_msg:
            raise ValueError("max inflight bytes must be >= max message size")
        if self.read_only_option == ReadOnlyOption.READ_ONLY_LEASE_BASED and not self.check_quorum:
            raise ValueError(
                "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased"
            )
