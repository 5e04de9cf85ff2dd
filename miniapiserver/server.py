"""The HTTP(S) server: the handler chain and the non-resource endpoints.

Mirrors k8s.io/apiserver/pkg/server/config.go (DefaultBuildHandlerChain:
panic recovery, request info, max-in-flight 429s, authentication, then
filters/authorization.go's 403 for whatever the authorizer does not allow, then
the API mux; upstream authorizes after the in-flight limit, here before it, so a
refused request takes no slot), server/healthz (healthz/livez/readyz with an
etcd check),
routes/version.go (/version) and routes/metrics.go, with discovery at
/api and /apis and the REST resources under them. Errors are Status bodies.
Admission runs in the registry (admission/). Audit (audit/filter.py) wraps
everything after authentication, as WithAudit does; impersonation
(auth/impersonation.py) swaps the user between audit and authorization; and
WithAuditInit's Audit-Id header is on every response. Omitted:
priority-and-fairness.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from miniapi import errors, scheme
from miniapi.runtime import GroupResource, Scheme
from miniapiserver import metrics
from miniapiserver.audit.event import DECISION_ANNOTATION, REASON_ANNOTATION, Event
from miniapiserver.audit.filter import AUDIT_ID, Auditor, audit_id
from miniapiserver.auth import escalation, impersonation, reviews
from miniapiserver.auth.authn import Authenticator, UserInfo
from miniapiserver.auth.authorizer import (
    DECISION_ALLOW,
    AlwaysAllow,
    Authorizer,
    attributes_from,
    forbidden_message,
)
from miniapiserver.auth.rbac import RuleResolver
from miniapiserver.endpoints import discovery, installer, openapi, openapi_v2, responsewriters
from miniapiserver.endpoints.requestinfo import RequestInfo, new_request_info
from miniapiserver.registry.store import RegistryStore
from miniapiserver.registry.token_request import TOKEN_REST, TokenREST
from miniapiserver.storage.etcd3_store import Store

log = logging.getLogger(__name__)

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-minicloud",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "python3.11",
    "compiler": "cpython",
    "platform": "linux/amd64",
}
LONG_RUNNING_VERBS = ("watch",)
RBAC_WRITES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


class APIServer:
    """Routes requests; owns the in-flight limits and the authenticator."""

    def __init__(
        self,
        storage: Store,
        stores: dict[str, RegistryStore],
        authenticator: Authenticator | None,
        scheme_: Scheme = scheme.SCHEME,
        max_requests_inflight: int = 400,
        max_mutating_requests_inflight: int = 200,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.storage = storage
        self.stores = stores
        self.authenticator = authenticator
        self.authorizer: Authorizer = authorizer or AlwaysAllow()
        # Set with RBAC: role and binding writes must not grant more than the writer holds.
        self.escalation_resolver: RuleResolver | None = None
        self.scheme = scheme_
        self.limits = {
            "readonly": max_requests_inflight,
            "mutating": max_mutating_requests_inflight,
        }
        self.inflight = {"readonly": 0, "mutating": 0}
        self.address = "127.0.0.1:6443"
        # Set when a signing key is configured: serves serviceaccounts/<name>/token.
        self.token_rest: TokenREST | None = None
        # Set by --audit-policy-file and --audit-log-path.
        self.auditor: Auditor | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 40)
        app[TOKEN_REST] = self.token_rest
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_response_prepare.append(self._on_response_prepare)
        return app

    async def _on_response_prepare(self, request: web.Request, resp: web.StreamResponse) -> None:
        if AUDIT_ID in request:
            resp.headers["Audit-Id"] = request[AUDIT_ID]
        if self.auditor is not None:
            await self.auditor.on_response_prepare(request, resp)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The handler chain, outermost first."""
        ri = new_request_info(request.method, request.path, request.query_string)
        started = time.monotonic()
        code, dry_run = 500, "dryRun" in request.query
        request[AUDIT_ID] = audit_id(request)
        try:
            resp = await self._authenticated(request, ri)
            code = resp.status
            return resp
        except errors.StatusError as e:
            code = e.code
            return responsewriters.error_response(e)
        except (asyncio.CancelledError, ConnectionResetError):
            code = 499  # the client went away
            raise
        except Exception as e:  # WithPanicRecovery: a bug is a 500 Status, not a traceback
            log.exception("handler failed on %s %s", request.method, request.path)
            return responsewriters.error_response(errors.new_internal_error(e))
        finally:
            labels = metrics.labels(ri, request.method, dry_run)
            metrics.REQUESTS.labels(**labels, code=str(code)).inc()
            metrics.LATENCY.labels(**labels).observe(time.monotonic() - started)

    async def _authenticated(self, request: web.Request, ri) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        """WithAuthentication, then WithAudit around the rest of the chain."""
        if self.authenticator is None:
            return await self._served(request, ri)
        peercert = request.transport.get_extra_info("peercert") if request.transport else None
        user = self.authenticator.authenticate(request.headers.get("Authorization"), peercert)
        if user is None:
            if self.auditor is not None:
                self.auditor.failed_authentication(request, ri)
            raise errors.new_unauthorized("Unauthorized")
        request["user"] = user
        if self.auditor is None:
            return await self._authorized(request, ri, user, None)
        return await self.auditor.with_audit(
            request, ri, user, lambda ev: self._authorized(request, ri, user, ev)
        )

    async def _authorized(
        self, request: web.Request, ri: RequestInfo, user: UserInfo, ev: Event | None
    ) -> web.StreamResponse:
        # WithImpersonation: the Impersonate-* headers swap the user before authorization.
        asked = impersonation.build_requests(list(request.headers.items()))
        if asked:
            user = impersonation.impersonate(asked, user, self.authorizer)
            request["user"] = user
            if ev is not None:
                ev.impersonated_user = user
        self.authorize(ri, user, ev)
        if self.escalation_resolver is not None and ri.resource in RBAC_WRITES:
            request["admit_write"] = self._escalation_check(ri, user)
        return await self._served(request, ri)

    async def _served(self, request: web.Request, ri: RequestInfo) -> web.StreamResponse:
        if not ri.is_resource_request:
            return await self.non_resource(request)
        if reviews.serves(ri):
            user = request.get("user") or UserInfo("")
            return await reviews.serve(request, ri, user, self.authorizer)
        if ri.verb in LONG_RUNNING_VERBS:
            gauge = metrics.LONGRUNNING.labels(
                **{
                    k: v
                    for k, v in metrics.labels(ri, request.method, False).items()
                    if k != "dry_run"
                }
            )
            gauge.inc()
            try:
                return await installer.serve(request, ri, self.scheme, self.stores)
            finally:
                gauge.dec()
        kind = "readonly" if ri.verb in ("get", "list") else "mutating"
        if 0 < self.limits[kind] <= self.inflight[kind]:  # 0 means no limit, as upstream
            e = errors.new_too_many_requests("Too many requests, please try again later.", 1)
            raise e
        self.inflight[kind] += 1
        try:
            return await installer.serve(request, ri, self.scheme, self.stores)
        finally:
            self.inflight[kind] -= 1

    def authorize(self, ri: RequestInfo, user: UserInfo, ev: Event | None = None) -> None:
        """WithAuthorization: anything but Allow is 403 (responsewriters.Forbidden)."""
        attrs = attributes_from(ri, user)
        decision, reason = self.authorizer.authorize(attrs)
        if ev is not None and ev.at_least("Metadata"):
            ev.add_annotation(
                DECISION_ANNOTATION, "allow" if decision == DECISION_ALLOW else "forbid"
            )
            ev.add_annotation(REASON_ANNOTATION, reason)
        if decision == DECISION_ALLOW:
            return
        msg = forbidden_message(attrs) + (f": {reason}" if reason else "")
        gr = GroupResource(attrs.api_group, attrs.resource)
        raise errors.new_forbidden(gr, attrs.name, msg)

    def _escalation_check(self, ri: RequestInfo, user: UserInfo):  # type: ignore[no-untyped-def]
        resolver = self.escalation_resolver
        assert resolver is not None

        def check(new: dict, old: dict | None) -> None:
            if ri.api_group != escalation.RBAC_GROUP or ri.subresource:
                return
            err = escalation.check_write(
                resolver, self.authorizer, user, ri.resource, ri.namespace, new, old
            )
            if err is not None:
                gr = GroupResource(ri.api_group, ri.resource)
                raise errors.new_forbidden(gr, new.get("metadata", {}).get("name", ""), err)

        return check

    async def non_resource(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if request.method not in ("GET", "HEAD"):
            raise installer.not_found()
        if path in ("/healthz", "/livez", "/readyz"):
            return await self.health(request, path)
        if path == "/version":
            return web.json_response(VERSION)
        if path == "/metrics":
            return web.Response(body=metrics.exposition(), content_type="text/plain")
        if path == "/openapi/v2":
            # kube-openapi's handler: gnostic protobuf when asked for (client-go asks), else JSON
            if openapi_v2.wants_protobuf(request.headers.get("Accept", "")):
                return web.Response(body=openapi_v2.proto_bytes(), content_type=openapi_v2.PROTOBUF)
            return web.Response(body=openapi_v2.json_bytes(), content_type="application/json")
        if path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            doc = openapi.serve(path)
            if doc is None:
                raise installer.not_found()
            return web.Response(body=doc, content_type="application/json")
        body = self.discovery(path)
        if body is None:
            raise installer.not_found()
        return web.json_response(body)

    def discovery(self, path: str) -> dict | None:
        parts = path.strip("/").split("/")
        doc = None
        if parts == ["api"]:
            doc = discovery.api_versions(self.address)
        elif parts == ["apis"]:
            doc = discovery.api_group_list(self.scheme)
        elif len(parts) == 2 and parts[0] == "api":
            doc = discovery.api_resource_list(self.scheme, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            doc = discovery.api_group(self.scheme, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = discovery.api_resource_list(self.scheme, parts[1], parts[2])
        return scheme.encode(doc) if doc is not None else None

    async def health(self, request: web.Request, path: str) -> web.Response:
        """healthz/livez/readyz: ping and etcd checks; ?verbose lists them."""
        checks = [("ping", True)]
        if path != "/livez":
            try:
                await asyncio.wait_for(self.storage.current_revision(), 2.0)
                checks.append(("etcd", True))
            except Exception:
                checks.append(("etcd", False))
        ok = all(passed for _, passed in checks)
        if "verbose" in request.query:
            lines = [f"[{'+' if p else '-'}]{n} {'ok' if p else 'failed'}" for n, p in checks]
            name = path.strip("/")
            text = "\n".join(lines) + f"\n{name} check {'passed' if ok else 'failed'}\n"
        else:
            text = "ok" if ok else f"{path.strip('/')} check failed"
        return web.Response(text=text, status=200 if ok else 500)
