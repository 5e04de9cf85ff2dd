"""The audit.k8s.io/v1 Event: built from the request, completed stage by stage.

Mirrors k8s.io/apiserver/pkg/audit/request.go (LogRequestMetadata: verb, URI,
user, source IPs, user agent, objectRef from the request info; LogRequestObject and
LogResponseObject: objectRef completed from the object's metadata, the objects kept
only at levels Request and RequestResponse; a Status response fills responseStatus)
and context.go (annotations), with the wire names of
k8s.io/apiserver/pkg/apis/audit/v1/types.go. Times are passed in (MicroTime, UTC),
so building an event reads no clock. Omitted: the Panic stage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from miniapiserver.audit.policy import RequestAuditConfig, level_less
from miniapiserver.auth.authn import UserInfo
from miniapiserver.endpoints.requestinfo import RequestInfo

DECISION_ANNOTATION = "authorization.k8s.io/decision"
REASON_ANNOTATION = "authorization.k8s.io/reason"
MAX_USER_AGENT = 1024
REF_FIELDS = ("resource", "namespace", "name", "uid", "apiGroup", "apiVersion",
              "resourceVersion", "subresource")  # fmt: skip


def micro_time(t: datetime) -> str:
    """metav1.MicroTime's JSON form: RFC 3339 with microseconds, in UTC."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_json(user: UserInfo) -> dict[str, Any]:
    """authentication/v1 UserInfo (username, uid, groups, extra), empty fields left out."""
    out: dict[str, Any] = {"username": user.name} if user.name else {}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {k: list(v) for k, v in user.extra}
    return out


@dataclass
class Event:
    """One request's audit record; `to_json` renders the current stage."""

    config: RequestAuditConfig
    audit_id: str
    request_uri: str
    verb: str
    user: UserInfo
    source_ips: list[str]
    user_agent: str
    received: datetime
    object_ref: dict[str, str] | None = None
    impersonated_user: UserInfo | None = None
    response_status: dict[str, Any] | None = None
    request_object: Any = None
    response_object: Any = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return self.config.level

    def at_least(self, level: str) -> bool:
        return not level_less(self.config.level, level)

    def add_annotation(self, key: str, value: str) -> None:
        """AddAuditAnnotation: the first value of a key stays."""
        self.annotations.setdefault(key, value)

    def log_request_object(self, obj: Any, is_patch: bool = False) -> None:
        """LogRequestObject / LogRequestPatch: objectRef gaps from metadata; the body at Request+."""
        if not self.at_least("Metadata"):
            return
        if isinstance(obj, dict) and not is_patch:
            self._fill_ref(obj.get("metadata") or {})
        if self.at_least("Request"):
            self.request_object = self._without_managed_fields(obj)

    def log_response(self, code: int, obj: Any) -> None:
        """The status code the writer sent, then LogResponseObject's Status and object."""
        self.response_status = {"metadata": {}, "code": code}
        if not self.at_least("Metadata") or not isinstance(obj, dict):
            return
        if obj.get("kind") == "Status":
            for key in ("status", "message", "reason", "details"):
                if obj.get(key):
                    self.response_status[key] = obj[key]
        if self.at_least("RequestResponse"):
            self.response_object = self._without_managed_fields(obj)

    def _fill_ref(self, meta: dict[str, Any]) -> None:
        if self.object_ref is None:
            return
        for ours, theirs in (("namespace", "namespace"), ("name", "name"), ("uid", "uid"),
                             ("resourceVersion", "resourceVersion")):  # fmt: skip
            if not self.object_ref.get(ours) and meta.get(theirs):
                self.object_ref[ours] = meta[theirs]

    def _without_managed_fields(self, obj: Any) -> Any:
        if not self.config.omit_managed_fields or not isinstance(obj, dict):
            return obj
        out = copy.deepcopy(obj)
        for item in [out, *(out.get("items") or [])]:
            if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
                item["metadata"].pop("managedFields", None)
        return out

    def to_json(self, stage: str, now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": self.level,
            "auditID": self.audit_id, "stage": stage, "requestURI": self.request_uri,
            "verb": self.verb, "user": user_json(self.user),
        }  # fmt: skip
        if self.impersonated_user is not None:
            out["impersonatedUser"] = user_json(self.impersonated_user)
        if self.source_ips:
            out["sourceIPs"] = self.source_ips
        if self.user_agent:  # omitempty, like most Event fields
            out["userAgent"] = self.user_agent
        if self.object_ref is not None:
            out["objectRef"] = {k: self.object_ref[k] for k in REF_FIELDS if k in self.object_ref}
        if self.response_status is not None and stage != "RequestReceived":
            out["responseStatus"] = self.response_status
        if self.request_object is not None:
            out["requestObject"] = self.request_object
        if self.response_object is not None and stage == "ResponseComplete":
            out["responseObject"] = self.response_object
        out["requestReceivedTimestamp"] = micro_time(self.received)
        out["stageTimestamp"] = micro_time(now)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def object_ref(ri: RequestInfo) -> dict[str, str] | None:
    """The ObjectReference of a resource request, in upstream's field order, blanks left out."""
    if not ri.is_resource_request:
        return None
    fields = (("resource", ri.resource), ("namespace", ri.namespace), ("name", ri.name),
              ("apiGroup", ri.api_group), ("apiVersion", ri.api_version),
              ("subresource", ri.subresource))  # fmt: skip
    return {k: v for k, v in fields if v}


def new_event(
    config: RequestAuditConfig, audit_id: str, ri: RequestInfo, request_uri: str,
    user: UserInfo, source_ips: list[str], user_agent: str, received: datetime,
) -> Event:  # fmt: skip
    """LogRequestMetadata: what is known before the handler runs."""
    if len(user_agent) > MAX_USER_AGENT:
        user_agent = user_agent[:MAX_USER_AGENT] + "...TRUNCATED"
    return Event(
        config, audit_id, request_uri, ri.verb, user, source_ips, user_agent, received,
        object_ref(ri),
    )  # fmt: skip
