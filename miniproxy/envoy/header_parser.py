"""request_headers_to_add / _remove and their response twins.

Mirrors source/common/router/header_parser.cc (HeaderParser::evaluateHeaders) with the
append actions of config.core.v3.HeaderValueOption and a few of the substitution formatters
of source/common/formatter (DOWNSTREAM_REMOTE_ADDRESS[_WITHOUT_PORT], REQ(), PROTOCOL,
HOSTNAME).
Omitted: the other formatter commands; they are left as literal text.
"""

from __future__ import annotations

import re
import socket

from envoy.config.core.v3 import base_pb2

from miniproxy.envoy.headers import HeaderMap

_FMT = re.compile(r"%([A-Z_]+)(?:\(([^)]*)\))?%")
_ACTION = base_pb2.HeaderValueOption.HeaderAppendAction


def format_value(value: str, ctx: dict) -> str:
    """Substitute %COMMAND% / %REQ(name)% from ctx (downstream address, request headers)."""

    def sub(m: re.Match) -> str:
        cmd, arg = m.group(1), m.group(2)
        if cmd == "DOWNSTREAM_REMOTE_ADDRESS":
            return ctx.get("downstream", "")
        if cmd == "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
            return ctx.get("downstream", "").rsplit(":", 1)[0]
        if cmd == "PROTOCOL":
            return "HTTP/1.1"
        if cmd == "HOSTNAME":
            return socket.gethostname()
        if cmd == "REQ" and arg is not None:
            req: HeaderMap | None = ctx.get("request")
            return (req.get(arg.lower()) if req else None) or ""
        return m.group(0)

    return _FMT.sub(sub, value) if "%" in value else value


class HeaderParser:
    """One level's (route, virtual host or route config) header mutations."""

    def __init__(self, to_add, to_remove) -> None:
        self.to_add = []
        for opt in to_add:
            if opt.HasField("append") and opt.append_action == _ACTION.APPEND_IF_EXISTS_OR_ADD:
                action = (
                    _ACTION.APPEND_IF_EXISTS_OR_ADD
                    if opt.append.value
                    else _ACTION.OVERWRITE_IF_EXISTS_OR_ADD
                )
            else:
                action = opt.append_action
            self.to_add.append(
                (opt.header.key.lower(), opt.header.value, action, opt.keep_empty_value)
            )
        self.to_remove = [h.lower() for h in to_remove]

    def evaluate(self, headers: HeaderMap, ctx: dict) -> None:
        for name in self.to_remove:
            headers.remove(name)
        for key, raw, action, keep_empty in self.to_add:
            value = format_value(raw, ctx)
            if not value and not keep_empty:
                continue
            present = key in headers
            if action == _ACTION.APPEND_IF_EXISTS_OR_ADD:
                headers.add(key, value)
            elif action == _ACTION.ADD_IF_ABSENT:
                if not present:
                    headers.add(key, value)
            elif (
                action == _ACTION.OVERWRITE_IF_EXISTS_OR_ADD
                or action == _ACTION.OVERWRITE_IF_EXISTS
                and present
            ):
                headers.set(key, value)

    def __bool__(self) -> bool:
        return bool(self.to_add or self.to_remove)
