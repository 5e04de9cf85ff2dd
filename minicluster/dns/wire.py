"""Domain names on the wire: labels, escapes, compression pointers, and a bounds-checked reader.

Mirrors github.com/miekg/dns (the codec CoreDNS is built on): msg.go's PackDomainName /
UnpackDomainName and the compression map, and the presentation escapes of
`\\.` and `\\DDD` (RFC 1035 section 5.1). Names are kept as presentation strings
ending in a dot ("web.default.svc.cluster.local.", "." for the root) so a decoded
label with an odd byte in it survives a round trip.
Rules checked on decode (RFC 1035 sections 3.1 and 4.1.4): labels of at most 63
octets, names of at most 255 octets, and compression pointers that point strictly
backwards (which also rules out loops). Any breach raises FormatError.
Omitted: IDNA; the 0x40/0x80 extended label types of RFC 6891 (rejected as FORMERR).
"""

from __future__ import annotations

import struct

__all__ = [
    "FormatError",
    "Reader",
    "is_subdomain",
    "labels_to_name",
    "name_to_labels",
    "pack_name",
]

MAX_LABEL = 63
MAX_NAME = 255
# Offsets above this cannot be the target of a 14-bit pointer.
MAX_POINTER = 0x3FFF
# Bytes that print as themselves in a label; anything else is escaped.
_PLAIN = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*/+=!#%&',:<>?[]^`{|}~"
)


class FormatError(ValueError):
    """The message cannot be parsed: answered with RCODE FORMERR (RFC 1035 section 4.1.1)."""


def _escape_label(label: bytes) -> str:
    out = []
    for b in label:
        if b in _PLAIN:
            out.append(chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append("\\" + chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def labels_to_name(labels: list[bytes] | tuple[bytes, ...]) -> str:
    """Presentation form of a label list, always fully qualified."""
    if not labels:
        return "."
    return "".join(_escape_label(label) + "." for label in labels)


def _split_escaped(name: str) -> list[bytearray]:
    labels: list[bytearray] = [bytearray()]
    i = 0
    while i < len(name):
        c = name[i]
        if c == ".":
            labels.append(bytearray())
            i += 1
        elif c == "\\":
            digits = name[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit():
                if int(digits) > 255:
                    raise ValueError(f"bad escape in name {name!r}")
                labels[-1].append(int(digits))
                i += 4
            elif i + 1 < len(name):
                labels[-1].extend(name[i + 1].encode("latin-1"))
                i += 2
            else:
                raise ValueError(f"dangling escape in name {name!r}")
        else:
            labels[-1].extend(c.encode("latin-1"))
            i += 1
    return labels


def name_to_labels(name: str) -> list[bytes]:
    """The labels of a presentation name; ValueError for empty labels or oversized names."""
    if name in ("", "."):
        return []
    try:
        labels = _split_escaped(name)
    except UnicodeEncodeError as exc:
        raise ValueError(f"non-ASCII name {name!r}") from exc
    if labels and not labels[-1]:
        labels.pop()  # the trailing dot of a fully qualified name
    if any(not label for label in labels):
        raise ValueError(f"empty label in name {name!r}")
    if any(len(label) > MAX_LABEL for label in labels):
        raise ValueError(f"label longer than 63 octets in {name!r}")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME:
        raise ValueError(f"name longer than 255 octets: {name!r}")
    return [bytes(label) for label in labels]


def is_subdomain(child: str, parent: str) -> bool:
    """dns.IsSubDomain: child equals parent or lies under it (case-insensitive)."""
    c = [label.lower() for label in name_to_labels(child)]
    p = [label.lower() for label in name_to_labels(parent)]
    return len(c) >= len(p) and (not p or c[-len(p) :] == p)


def pack_name(name: str, buf: bytearray, compress: dict[tuple[bytes, ...], int] | None) -> None:
    """Append name to buf; with a compression map, reuse any suffix already written."""
    labels = tuple(name_to_labels(name))
    for i in range(len(labels)):
        suffix = labels[i:]
        if compress is not None:
            offset = compress.get(suffix)
            if offset is not None:
                buf += struct.pack("!H", 0xC000 | offset)
                return
            if len(buf) <= MAX_POINTER:
                compress[suffix] = len(buf)
        buf.append(len(labels[i]))
        buf += labels[i]
    buf.append(0)


class Reader:
    """A cursor over a received message; every read past the end is a FormatError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError("message truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("!H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("!I", self.take(4))[0]

    def name(self) -> str:
        """A possibly compressed name at the cursor; the cursor ends after its first pointer."""
        labels: list[bytes] = []
        pos, end_after = self.pos, None
        floor = self.pos  # a pointer must point strictly before the name that used it
        wire_len = 1
        while True:
            if pos >= len(self.data):
                raise FormatError("name runs past the end of the message")
            length = self.data[pos]
            if length == 0:
                pos += 1
                break
            kind = length & 0xC0
            if kind == 0xC0:
                if pos + 1 >= len(self.data):
                    raise FormatError("truncated compression pointer")
                target = ((length & 0x3F) << 8) | self.data[pos + 1]
                if end_after is None:
                    end_after = pos + 2
                if target >= floor:
                    raise FormatError("compression pointer does not point backwards")
                floor = pos = target
                continue
            if kind != 0:
                raise FormatError("unsupported label type")
            label = self.data[pos + 1 : pos + 1 + length]
            if len(label) != length:
                raise FormatError("label runs past the end of the message")
            wire_len += length + 1
            if wire_len > MAX_NAME:
                raise FormatError("name longer than 255 octets")
            labels.append(label)
            pos += 1 + length
        self.pos = end_after if end_after is not None else pos
        return labels_to_name(labels)
