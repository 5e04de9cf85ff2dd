"""Protobuf wire encoding of ConfChange and ConfChangeV2, for entry payloads.

Mirrors what etcd-io/raft gets from the generated raftpb/raft.pb.go: a conf
change travels in the log as an Entry whose data is the marshalled proto, so
our entries are byte-compatible with etcd's. A dozen lines of proto2 varint
encoding keep the core free of a protobuf dependency.
Omitted: every other message (the server owns its wire format).
"""

from __future__ import annotations

from miniraft.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    Entry,
    EntryType,
)

NO_LIMIT = (1 << 64) - 1  # "no size limit" (math.MaxUint64 upstream)


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num: int, wire: int) -> bytes:
    return _varint(num << 3 | wire)


def _uint_field(num: int, v: int) -> bytes:
    return _key(num, 0) + _varint(v)


def _bytes_field(num: int, b: bytes) -> bytes:
    return _key(num, 2) + _varint(len(b)) + b


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode (field number, value) pairs; only varint and length-delimited."""
    out: list[tuple[int, int | bytes]] = []
    i = 0

    def read_varint() -> int:
        nonlocal i
        shift = v = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        key = read_varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out.append((num, read_varint()))
        elif wire == 2:
            n = read_varint()
            out.append((num, buf[i : i + n]))
            i += n
        else:
            raise ValueError(f"proto: unsupported wire type {wire}")
    return out


def marshal_conf_change(cc: ConfChange) -> bytes:
    out = _uint_field(1, cc.id) + _uint_field(2, cc.type) + _uint_field(3, cc.node_id)
    return out + (_bytes_field(4, cc.context) if cc.context else b"")


def unmarshal_conf_change(buf: bytes) -> ConfChange:
    kw: dict = {}
    for num, v in _fields(buf):
        if num == 1:
            kw["id"] = v
        elif num == 2:
            kw["type"] = ConfChangeType(v)
        elif num == 3:
            kw["node_id"] = v
        elif num == 4:
            kw["context"] = bytes(v)  # type: ignore[arg-type]
    return ConfChange(**kw)


def marshal_conf_change_v2(cc: ConfChangeV2) -> bytes:
    out = _uint_field(1, cc.transition) if cc.transition else b""
    for c in cc.changes:
        out += _bytes_field(2, _uint_field(1, c.type) + _uint_field(2, c.node_id))
    return out + (_bytes_field(3, cc.context) if cc.context else b"")


def unmarshal_conf_change_v2(buf: bytes) -> ConfChangeV2:
    transition, changes, context = ConfChangeTransition.AUTO, [], b""
    for num, v in _fields(buf):
        if num == 1:
            transition = ConfChangeTransition(v)
        elif num == 2:
            single = dict(_fields(v))  # type: ignore[arg-type]
            changes.append(
                ConfChangeSingle(ConfChangeType(single.get(1, 0)), int(single.get(2, 0)))
            )
        elif num == 3:
            context = bytes(v)  # type: ignore[arg-type]
    return ConfChangeV2(transition, tuple(changes), context)


def conf_change_to_entry(cc: ConfChange | ConfChangeV2 | None) -> Entry:
    """raft.go confChangeToMsg: the entry that carries a proposed change.

    None is the empty V2 change that leaves a joint configuration.
    """
    if isinstance(cc, ConfChange):
        return Entry(type=EntryType.CONF_CHANGE, data=marshal_conf_change(cc))
    return Entry(type=EntryType.CONF_CHANGE_V2, data=marshal_conf_change_v2(cc or ConfChangeV2()))


def conf_change_from_entry(e: Entry) -> ConfChange | ConfChangeV2 | None:
    if e.type == EntryType.CONF_CHANGE:
        return unmarshal_conf_change(e.data)
    if e.type == EntryType.CONF_CHANGE_V2:
        return unmarshal_conf_change_v2(e.data)
    return None


def _varint_len(v: int) -> int:
    return max(1, (v.bit_length() + 6) // 7)


_MAX_ENTRY_OVERHEAD = 4 + 4 * 10  # four keys, four varints of at most 10 bytes


def entry_size(e: Entry) -> int:
    """proto.Size of an Entry: the unit of max_size_per_msg and max_size limits."""
    n = len(e.data)
    # Four one-byte keys, three varints, the data length and the data.
    return 4 + _varint_len(e.term) + _varint_len(e.index) + _varint_len(e.type) + _varint_len(n) + n


def limit_size(ents: list[Entry], max_size: int) -> list[Entry]:
    """The longest prefix within max_size, but never empty (util.go limitSize)."""
    if not ents or max_size >= NO_LIMIT:
        return ents
    # Fast path: no entry is bigger than its data plus _MAX_ENTRY_OVERHEAD, so if
    # that bound fits, everything fits (the common case: a leader's new batch).
    if _MAX_ENTRY_OVERHEAD * len(ents) + sum([len(e.data) for e in ents]) <= max_size:
        return ents
    size = entry_size(ents[0])
    for limit in range(1, len(ents)):
        size += entry_size(ents[limit])
        if size > max_size:
            return ents[:limit]
    return ents
