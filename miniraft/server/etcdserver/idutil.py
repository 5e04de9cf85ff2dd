"""Unique request and lease IDs without coordination.

Mirrors etcd pkg/idutil/id.go (Generator): the top 16 bits are the low bits of
the member ID, the next 40 the start time in milliseconds, the low 8 a counter
that carries into the time bits — so IDs differ across members and restarts.
"""

from __future__ import annotations

TS_LEN = 40
CNT_LEN = 8
SUFFIX_LEN = TS_LEN + CNT_LEN


class Generator:
    def __init__(self, member_id: int, now_ms: int) -> None:
        self.prefix = (member_id & 0xFFFF) << SUFFIX_LEN
        self.suffix = (now_ms & ((1 << TS_LEN) - 1)) << CNT_LEN

    def next(self) -> int:
        self.suffix = (self.suffix + 1) & ((1 << SUFFIX_LEN) - 1)
        return self.prefix | self.suffix
