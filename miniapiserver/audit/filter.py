"""The audit filter: an Event per request, written at each stage the policy keeps.

Mirrors k8s.io/apiserver/pkg/endpoints/filters/audit.go (WithAudit: the policy
is evaluated on the authenticated request; RequestReceived is written before the
handler, ResponseStarted when a long-running response sends its headers, and
ResponseComplete at the end; a request the policy puts at level None is not
recorded), audit_init.go (the Audit-ID request header is kept, else a new UUID;
every response carries `Audit-Id`) and WithFailedAuthenticationAudit (a 401 is
recorded once, at ResponseStarted, with the credentials that were tried). The
request body is read here and handed on unchanged, because in this server the
handlers decode it, not a shared serializer (upstream logs it from the handlers).
Omitted: the Panic stage, webhook and dynamic backends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import streams, web

from miniapi import errors
from miniapiserver.audit import policy as audit_policy
from miniapiserver.audit.event import Event, new_event
from miniapiserver.audit.log import LogBackend
from miniapiserver.auth.authn import UserInfo, bearer_token
from miniapiserver.auth.authorizer import attributes_from
from miniapiserver.endpoints import negotiation, responsewriters
from miniapiserver.endpoints.handlers.rest import MAX_REQUEST_BODY_BYTES
from miniapiserver.endpoints.requestinfo import RequestInfo
from miniapiserver.protobuf import envelope

HEADER_AUDIT_ID = "Audit-ID"
# the request's audit ID (WithAuditInit) and, for long-running requests, its Event
AUDIT_ID: web.RequestKey[str] = web.RequestKey("audit_id", str)
EVENT: web.RequestKey[Event] = web.RequestKey("audit_event", Event)
LONG_RUNNING_SUBRESOURCES = ("attach", "exec", "proxy", "log", "portforward")
BODY_VERBS = ("create", "update", "patch")


def audit_id(request: web.Request) -> str:
    """WithAuditInit: the client's Audit-ID, or a new one."""
    return request.headers.get(HEADER_AUDIT_ID) or str(uuid.uuid4())


def source_ips(request: web.Request) -> list[str]:
    """utilnet.SourceIPs: X-Forwarded-For hops, then the peer address."""
    ips = [ip.strip() for ip in request.headers.get("X-Forwarded-For", "").split(",") if ip.strip()]
    if request.remote and request.remote not in ips:
        ips.append(request.remote)
    return ips


def long_running(ri: RequestInfo) -> bool:
    return ri.verb in ("watch", "proxy") or ri.subresource in LONG_RUNNING_SUBRESOURCES


def _decode(body: bytes, content_type: str) -> Any:
    media = negotiation.parse_media_type(content_type or "")[0]
    try:
        if media == negotiation.PROTOBUF:
            return envelope.decode(body)
        return msgspec.json.decode(body) if body else None
    except (envelope.CodecError, msgspec.DecodeError):
        return None


async def _read_and_replay(request: web.Request) -> bytes:
    """Read the body (at most one byte over the limit, so the handler still 413s) and put a
    fresh reader holding the same bytes where the handler will read it."""
    body = await request.content.read(MAX_REQUEST_BODY_BYTES + 1)
    while len(body) <= MAX_REQUEST_BODY_BYTES and not request.content.at_eof():
        more = await request.content.read(MAX_REQUEST_BODY_BYTES + 1 - len(body))
        if not more:
            break
        body += more
    replay = streams.StreamReader(request.protocol, 2**16, loop=asyncio.get_running_loop())
    replay.feed_data(body)
    replay.feed_eof()
    # aiohttp has no public way to put a body back: `content` is a cached property over
    # `_payload`, so both are pointed at the replay (test_apiserver_audit checks the handler
    # still sees the body).
    request._payload = replay
    request._cache["content"] = replay
    return body


class Auditor:
    """The policy and the backend; `with_audit` wraps the authenticated handler."""

    def __init__(
        self,
        policy: audit_policy.Policy,
        backend: LogBackend,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy
        self.backend = backend
        self.clock = clock

    def process(self, ev: Event, stage: str) -> None:
        """processAuditEvent: stamp the stage and write it unless the policy omits it."""
        if stage not in ev.config.omit_stages:
            self.backend.process_events(ev.to_json(stage, self.clock()))

    def begin(self, request: web.Request, ri: RequestInfo, user: UserInfo) -> Event | None:
        config = audit_policy.evaluate(self.policy, attributes_from(ri, user))
        if config.level == "None":
            return None
        return new_event(
            config, request[AUDIT_ID], ri, request.path_qs, user, source_ips(request),
            request.headers.get("User-Agent", ""), self.clock(),
        )  # fmt: skip

    async def with_audit(
        self,
        request: web.Request,
        ri: RequestInfo,
        user: UserInfo,
        inner: Callable[[Event | None], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        ev = self.begin(request, ri, user)
        if ev is None:
            return await inner(None)
        self.process(ev, "RequestReceived")
        if long_running(ri):
            request[EVENT] = ev  # on_response_prepare writes ResponseStarted
        if ri.verb in BODY_VERBS and request.can_read_body:
            body = await _read_and_replay(request)
            if len(body) <= MAX_REQUEST_BODY_BYTES:
                obj = _decode(body, request.headers.get("Content-Type", ""))
                if obj is not None:
                    ev.log_request_object(obj, is_patch=ri.verb == "patch")
        try:
            resp = await inner(ev)
        except errors.StatusError as e:
            ev.log_response(e.code, responsewriters.status_body(e.status))
            self.process(ev, "ResponseComplete")
            raise
        except asyncio.CancelledError:
            # The client went away: upstream's deferred ResponseComplete still runs, with
            # its "Connection closed early" status when nothing was sent yet.
            if ev.response_status is None:
                ev.response_status = {"metadata": {}, "status": "Success",
                                      "message": "Connection closed early", "code": 200}  # fmt: skip
            self.process(ev, "ResponseComplete")
            raise
        except Exception:
            ev.log_response(500, None)
            self.process(ev, "ResponseComplete")
            raise
        if ev.response_status is None or not long_running(ri):
            body = resp.body if isinstance(resp, web.Response) else None
            obj = _decode(body, resp.content_type) if isinstance(body, bytes) else None
            ev.log_response(resp.status, obj)
        self.process(ev, "ResponseComplete")
        return resp

    async def on_response_prepare(self, request: web.Request, resp: web.StreamResponse) -> None:
        """A long-running response sends its headers: the ResponseStarted stage."""
        ev = request.get(EVENT)
        if ev is not None and ev.response_status is None:
            ev.log_response(resp.status, None)
            self.process(ev, "ResponseStarted")

    def failed_authentication(self, request: web.Request, ri: RequestInfo) -> None:
        """WithFailedAuthenticationAudit: one ResponseStarted event, no user, code 401."""
        ev = self.begin(request, ri, UserInfo(""))
        if ev is None:
            return
        ev.log_response(401, None)
        ev.response_status["message"] = auth_methods_message(request)  # type: ignore[index]
        self.process(ev, "ResponseStarted")


def auth_methods_message(request: web.Request) -> str:
    """getAuthMethods: which credentials the refused request carried."""
    methods = []
    if bearer_token(request.headers.get("Authorization")):
        methods.append("bearer")
    if request.transport is not None and request.transport.get_extra_info("peercert"):
        methods.append("x509")
    if methods:
        return "Authentication failed, attempted: " + ", ".join(methods)
    return "Authentication failed, no credentials provided"
