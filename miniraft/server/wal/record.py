"""WAL record framing: length, rolling CRC, type, data, padded to 8 bytes.

Mirrors etcd server/storage/wal/encoder.go and decoder.go. etcd frames a
walpb.Record with an 8-byte length whose top byte holds the padding; here a
record is `u32 length | u32 crc | u8 type | data | zero padding to 8 bytes`.
The CRC chains from the previous record's (crc32 of type+data seeded with the
last crc), so a record read out of order or a torn tail fails the check.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

METADATA_TYPE = 1
ENTRY_TYPE = 2
STATE_TYPE = 3
CRC_TYPE = 4
SNAPSHOT_TYPE = 5

_HEAD = struct.Struct("<IIB")
MAX_RECORD = 64 << 20


class ErrCRCMismatch(Exception):
    def __init__(self) -> None:
        super().__init__("wal: crc mismatch")


class ErrTornTail(Exception):
    """The log ends in a partially written record (a crash mid-write)."""


@dataclass(frozen=True)
class Record:
    type: int
    data: bytes


def _pad(n: int) -> int:
    return (8 - n % 8) % 8


def encode(rec: Record, prev_crc: int) -> tuple[bytes, int]:
    """The record's bytes and the CRC the next record chains from."""
    if rec.type == CRC_TYPE:
        crc = prev_crc  # a CRC record carries the chain; it does not extend it
    else:
        crc = zlib.crc32(bytes([rec.type]) + rec.data, prev_crc)
    body = _HEAD.pack(len(rec.data), crc, rec.type) + rec.data
    return body + b"\0" * _pad(len(body)), crc


def decode_all(buf: bytes, prev_crc: int = 0) -> tuple[list[Record], int, int, Exception | None]:
    """(records, offset of the end of the last good record, its crc, error or None).

    A CRC_TYPE record resets the chain to the crc it carries (a new segment
    starts from the previous segment's last crc). A bad record at the end of
    the buffer is a torn tail; one followed by more data is corruption.
    """
    recs: list[Record] = []
    off = 0
    crc = prev_crc
    while off < len(buf):
        if len(buf) - off < _HEAD.size:
            return recs, off, crc, _tail_error(buf, off)
        length, want, typ = _HEAD.unpack_from(buf, off)
        if length == 0 and want == 0 and typ == 0:
            return recs, off, crc, _tail_error(buf, off)  # preallocated zeros
        start = off + _HEAD.size
        end = start + length
        if length > MAX_RECORD or end + _pad(end - off) > len(buf):
            return recs, off, crc, ErrTornTail()
        data = buf[start:end]
        if typ == CRC_TYPE:
            crc = struct.unpack("<I", data)[0]
        elif zlib.crc32(bytes([typ]) + data, crc) != want:
            nxt = end + _pad(end - off)
            return recs, off, crc, ErrTornTail() if nxt >= len(buf) else ErrCRCMismatch()
        else:
            crc = want
        recs.append(Record(typ, data))
        off = end + _pad(end - off)
    return recs, off, crc, None


def _tail_error(buf: bytes, off: int) -> Exception:
    return ErrTornTail() if not buf[off:].strip(b"\0") or len(buf) - off < 16 else ErrCRCMismatch()


def crc_record(crc: int) -> Record:
    return Record(CRC_TYPE, struct.pack("<I", crc))
