"""Access logs: Envoy's default format and its substitution commands.

Mirrors source/common/formatter/substitution_formatter.cc (%START_TIME%, %REQ(X?Y)%, %RESP()%,
%RESPONSE_CODE%, %RESPONSE_FLAGS%, %BYTES_RECEIVED%, %BYTES_SENT%, %DURATION%,
%UPSTREAM_HOST%, %UPSTREAM_CLUSTER%, %ROUTE_NAME%, %PROTOCOL%, %DOWNSTREAM_REMOTE_ADDRESS%)
and source/extensions/access_loggers/{file,stream} (file path, /dev/stdout, stderr).
Missing values print `-`, as Envoy does.
Omitted: access log filters, json_format, gRPC access log service.
"""

from __future__ import annotations

import re
import sys
import time

from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.stream_info import StreamInfo

DEFAULT_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n'
)
_CMD = re.compile(r"%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%")


def _start_time(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _header(headers: HeaderMap | None, arg: str) -> str | None:
    if headers is None:
        return None
    for name in arg.split("?"):
        v = headers.get(name.lower())
        if v is not None:
            return v
    return None


def format_line(fmt: str, req: HeaderMap | None, resp: HeaderMap | None, info: StreamInfo) -> str:
    def sub(m: re.Match) -> str:
        cmd, arg, maxlen = m.group(1), m.group(2), m.group(3)
        value: object = None
        if cmd == "START_TIME":
            value = _start_time(info.start_time)
        elif cmd == "REQ":
            value = _header(req, arg or "")
        elif cmd == "RESP":
            value = _header(resp, arg or "")
        elif cmd == "PROTOCOL":
            value = info.protocol
        elif cmd == "RESPONSE_CODE":
            value = info.response_code or 0
        elif cmd == "RESPONSE_FLAGS":
            value = info.flags_string()
        elif cmd == "RESPONSE_CODE_DETAILS":
            value = info.response_code_details or None
        elif cmd == "BYTES_RECEIVED":
            value = info.bytes_received
        elif cmd == "BYTES_SENT":
            value = info.bytes_sent
        elif cmd == "DURATION":
            value = info.duration_ms
        elif cmd == "UPSTREAM_HOST":
            value = info.upstream_host or None
        elif cmd == "UPSTREAM_CLUSTER":
            value = info.upstream_cluster or None
        elif cmd == "ROUTE_NAME":
            value = info.route_name or None
        elif cmd == "DOWNSTREAM_REMOTE_ADDRESS":
            value = info.downstream_remote or None
        elif cmd == "DOWNSTREAM_LOCAL_ADDRESS":
            value = info.downstream_local or None
        else:
            return m.group(0)
        text = "-" if value is None else str(value)
        return text[: int(maxlen)] if maxlen else text

    return _CMD.sub(sub, fmt)


class AccessLog:
    """One configured access logger (file or stdout/stderr) with its format."""

    def __init__(self, path: str | None, fmt: str = DEFAULT_FORMAT, stream=None) -> None:
        self.fmt = fmt
        self.stream = stream
        self.file = open(path, "a", buffering=1) if path and stream is None else None  # noqa: SIM115

    def log(self, req: HeaderMap | None, resp: HeaderMap | None, info: StreamInfo) -> None:
        line = format_line(self.fmt, req, resp, info)
        out = self.file or self.stream or sys.stdout
        out.write(line)

    def close(self) -> None:
        if self.file:
            self.file.close()


def from_proto(pb, unpack) -> AccessLog:
    """config.accesslog.v3.AccessLog with a file / stdout / stderr typed_config."""
    cfg = unpack(pb.typed_config, pb.name)
    fmt = DEFAULT_FORMAT
    if cfg.HasField("log_format"):
        lf = cfg.log_format
        if lf.HasField("text_format_source"):
            fmt = lf.text_format_source.inline_string
        elif lf.WhichOneof("format") == "text_format":
            fmt = lf.text_format
    elif getattr(cfg, "format", ""):
        fmt = cfg.format
    name = cfg.DESCRIPTOR.name
    if name == "StdoutAccessLog":
        return AccessLog(None, fmt, sys.stdout)
    if name == "StderrAccessLog":
        return AccessLog(None, fmt, sys.stderr)
    if cfg.path in ("/dev/stdout", "/dev/stderr"):
        return AccessLog(None, fmt, sys.stdout if cfg.path.endswith("stdout") else sys.stderr)
    return AccessLog(cfg.path, fmt)
