"""A store revision: main (one per write transaction) and sub (one per change in it).

Mirrors etcd server/storage/mvcc/revision.go (Revision, RevToBytes, BytesToRev).
The byte form sorts like the tuple, which is what the backend relies on to
iterate history in revision order. Omitted: the tombstone marker byte (the
backend here stores a tombstone flag next to the value instead).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

_REV = struct.Struct(">qq")


class Revision(NamedTuple):
    """Revision{Main, Sub}; tuples compare main first, then sub."""

    main: int
    sub: int = 0

    def to_bytes(self) -> bytes:
        return _REV.pack(self.main, self.sub)

    @staticmethod
    def from_bytes(data: bytes) -> Revision:
        main, sub = _REV.unpack(data)
        return Revision(main, sub)
