"""Escalation prevention: you cannot grant through RBAC what you do not hold.

Mirrors kubernetes/pkg/registry/rbac/escalation_check.go (EscalationAllowed for
system:masters, RoleEscalationAuthorized: the `escalate` verb, BindingAuthorized:
the `bind` verb on the referenced role), pkg/registry/rbac/validation/rule.go
(RulesFor, ConfirmNoEscalation and its message), policy_comparator.go (Covers,
BreakdownRule, ruleCovers) and the policybased REST storages of roles,
clusterroles, rolebindings and clusterrolebindings (unchanged rules or roleRef on
update pass; an aggregationRule needs full authority). Pure: a resolver and an
authorizer in, an error message or None out.
Omitted: CompactRules' merging of resourceNames-only rules.
"""

from __future__ import annotations

from typing import Any

from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import DECISION_ALLOW, Attributes, Authorizer
from miniapiserver.auth.rbac import RuleResolver

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
FULL_AUTHORITY = [
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
]


def escalation_allowed(user: UserInfo) -> bool:
    """system:masters can always do anything (the loopback client is in it)."""
    return "system:masters" in user.groups


def breakdown_rule(rule: Obj) -> list[Obj]:
    """One rule per (group, resource, verb[, name]) and per (url, verb)."""
    out: list[Obj] = []
    verbs = rule.get("verbs") or []
    names = rule.get("resourceNames") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in verbs:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                out.extend([{**base, "resourceNames": [n]} for n in names] if names else [base])
    for url in rule.get("nonResourceURLs") or []:
        out.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs)
    return out


def _resource_covers_all(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned:
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owned:
            return False
    return True


def _url_covers(owner: str, path: str) -> bool:
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))


def rule_covers(owner: Obj, sub: Obj) -> bool:
    o_verbs, o_groups = owner.get("verbs") or [], owner.get("apiGroups") or []
    o_names, s_names = owner.get("resourceNames") or [], sub.get("resourceNames") or []
    verbs = "*" in o_verbs or set(sub.get("verbs") or []) <= set(o_verbs)
    groups = "*" in o_groups or set(sub.get("apiGroups") or []) <= set(o_groups)
    resources = _resource_covers_all(owner.get("resources") or [], sub.get("resources") or [])
    urls = all(
        any(_url_covers(o, p) for o in owner.get("nonResourceURLs") or [])
        for p in sub.get("nonResourceURLs") or []
    )
    names = not o_names or (bool(s_names) and set(s_names) <= set(o_names))
    return verbs and groups and resources and urls and names


def covers(owner_rules: list[Obj], servant_rules: list[Obj]) -> tuple[bool, list[Obj]]:
    missing = [
        sub
        for rule in servant_rules
        for sub in breakdown_rule(rule)
        if not any(rule_covers(o, sub) for o in owner_rules)
    ]
    return not missing, missing


def _go_strings(values: list[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def compact_string(rule: Obj) -> str:
    """rbacv1helpers.CompactString: {APIGroups:["" "apps"], Resources:["pods"], Verbs:["get"]}."""
    parts = []
    for label, key in (("APIGroups", "apiGroups"), ("Resources", "resources"),
                       ("NonResourceURLs", "nonResourceURLs"), ("ResourceNames", "resourceNames"),
                       ("Verbs", "verbs")):  # fmt: skip
        if rule.get(key):
            parts.append(f"{label}:{_go_strings(rule[key])}")
    return "{" + ", ".join(parts) + "}"


def compact_rules(rules: list[Obj]) -> list[Obj]:
    """CompactRules: simple rules on the same group and resource merge their verbs."""
    out: list[Obj] = []
    merged: dict[tuple, Obj] = {}
    for r in rules:
        simple = len(r.get("apiGroups") or []) == 1 and len(r.get("resources") or []) == 1
        if not simple or r.get("resourceNames") or r.get("nonResourceURLs"):
            out.append(r)
            continue
        key = (r["apiGroups"][0], r["resources"][0])
        if key in merged:
            merged[key]["verbs"] = merged[key]["verbs"] + [
                v for v in r["verbs"] if v not in merged[key]["verbs"]
            ]
        else:
            merged[key] = {**r, "verbs": list(r["verbs"])}
            out.append(merged[key])
    return out


def rules_for(
    resolver: RuleResolver, user: UserInfo, namespace: str
) -> tuple[list[Obj], list[str]]:
    """RulesFor: every rule bound to the user in the namespace, and the lookup errors."""
    rules: list[Obj] = []
    errs: list[str] = []

    def visit(_source: str, rule: Obj | None, err: str) -> bool:
        if rule is not None:
            rules.append(rule)
        if err:
            errs.append(err)
        return True

    resolver.visit_rules_for(user, namespace, visit)
    return rules, errs


def confirm_no_escalation(
    resolver: RuleResolver, user: UserInfo, namespace: str, rules: list[Obj]
) -> str | None:
    """ConfirmNoEscalation: None when the user holds every rule, else upstream's message."""
    owner, errs = rules_for(resolver, user, namespace)
    ok, missing = covers(owner, rules)
    if ok:
        return None
    described = sorted({compact_string(r) for r in compact_rules(missing)})
    groups = _go_strings(list(user.groups))
    msg = (
        f'user "{user.name}" (groups={groups}) is attempting to grant RBAC permissions '
        "not currently held:\n" + "\n".join(described)
    )
    if errs:
        msg += f"; resolution errors: [{', '.join(errs)}]"
    return msg


def _authorized(
    authorizer: Authorizer, user: UserInfo, verb: str, ns: str, res: str, name: str
) -> bool:
    attrs = Attributes(
        user, verb, True, namespace=ns, api_group=RBAC_GROUP, resource=res, name=name
    )
    return authorizer.authorize(attrs)[0] == DECISION_ALLOW


def check_write(
    resolver: RuleResolver,
    authorizer: Authorizer,
    user: UserInfo,
    resource: str,
    namespace: str,
    new: Obj,
    old: Obj | None,
) -> str | None:
    """The policybased storages' Create / Update check: None, or why it is forbidden."""
    if escalation_allowed(user):
        return None
    name = new.get("metadata", {}).get("name", "")
    if resource in ("roles", "clusterroles"):
        if (
            old is not None
            and old.get("rules") == new.get("rules")
            and (old.get("aggregationRule") == new.get("aggregationRule"))
        ):
            return None
        if _authorized(authorizer, user, "escalate", namespace, resource, name):
            return None
        err = confirm_no_escalation(resolver, user, namespace, list(new.get("rules") or []))
        aggregating = err is None and new.get("aggregationRule")
        if aggregating and confirm_no_escalation(resolver, user, namespace, FULL_AUTHORITY):
            return "must have cluster-admin privileges to use the aggregationRule"
        return err
    ref = new.get("roleRef") or {}
    if old is not None and old.get("roleRef") == ref:
        return None
    kind_resource = {"ClusterRole": "clusterroles", "Role": "roles"}.get(ref.get("kind", ""))
    if kind_resource and _authorized(
        authorizer, user, "bind", namespace, kind_resource, ref.get("name", "")
    ):
        return None
    rules, err = resolver.get_role_reference_rules(ref, namespace)
    if err:
        return err
    return confirm_no_escalation(resolver, user, namespace, rules)
