"""The RBAC authorizer: walk the rules bound to a user until one allows the request.

Mirrors kubernetes/plugin/pkg/auth/authorizer/rbac/rbac.go (RBACAuthorizer.Authorize,
authorizingVisitor, RuleAllows), pkg/registry/rbac/validation/rule.go
(DefaultRuleResolver.VisitRulesFor, GetRoleReferenceRules, appliesTo, the binding
describers) and pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches,
ResourceMatches with `*/subresource`, ResourceNameMatches, NonResourceURLMatches).
Roles and bindings are read through a `PolicySource` (the watch caches in the server,
plain dicts in tests), so this core does no I/O. RBAC never denies: no rule is
NoOpinion, and the union of authorizers turns that into a 403.
Omitted: RulesFor / ConfirmNoEscalation (escalation checks), SelfSubjectRulesReview.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import DECISION_ALLOW, DECISION_NO_OPINION, Attributes

Obj = dict[str, Any]
# A visitor gets (source description, rule, error) and returns False to stop the walk.
Visitor = Callable[[str, Obj | None, str], bool]
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class PolicySource(Protocol):
    """The listers the resolver reads: bindings by scope, roles by name."""

    def cluster_role_bindings(self) -> Iterable[Obj]: ...
    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...
    def cluster_role(self, name: str) -> Obj | None: ...
    def role(self, namespace: str, name: str) -> Obj | None: ...


def verb_matches(rule: Obj, verb: str) -> bool:
    return any(v in ("*", verb) for v in rule.get("verbs") or ())


def api_group_matches(rule: Obj, group: str) -> bool:
    return any(g in ("*", group) for g in rule.get("apiGroups") or ())


def resource_matches(rule: Obj, combined: str, subresource: str) -> bool:
    """A rule names `*`, the combined `pods/log`, or `*/log` for any resource's subresource."""
    for r in rule.get("resources") or ():
        if r in ("*", combined):
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: Obj, name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def non_resource_url_matches(rule: Obj, path: str) -> bool:
    """Exact, `*`, or a trailing `*` as a prefix match (`/apis/*`)."""
    for url in rule.get("nonResourceURLs") or ():
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """RuleAllows: one PolicyRule against one request."""
    if not verb_matches(rule, attrs.verb):
        return False
    if not attrs.resource_request:
        return non_resource_url_matches(rule, attrs.path)
    combined = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
    return (
        api_group_matches(rule, attrs.api_group)
        and resource_matches(rule, combined, attrs.subresource)
        and resource_name_matches(rule, attrs.name)
    )


def applies_to_user(user: UserInfo, subject: Obj, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}"
    return False


def applies_to(user: UserInfo, binding: Obj, namespace: str) -> Obj | None:
    """The first of the binding's subjects that is this user, or None."""
    for subject in binding.get("subjects") or ():
        if applies_to_user(user, subject, namespace):
            return subject
    return None


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def describe_binding(binding: Obj, subject: Obj) -> str:
    """clusterRoleBindingDescriber / roleBindingDescriber String()."""
    meta, ref = binding.get("metadata", {}), binding.get("roleRef", {})
    ns = meta.get("namespace", "")
    if ns:
        head = f'RoleBinding "{meta.get("name", "")}/{ns}"'
    else:
        head = f'ClusterRoleBinding "{meta.get("name", "")}"'
    return f'{head} of {ref.get("kind", "")} "{ref.get("name", "")}" to {describe_subject(subject, ns)}'


class RuleResolver:
    """DefaultRuleResolver over a PolicySource."""

    def __init__(self, source: PolicySource) -> None:
        self.source = source

    def get_role_reference_rules(self, ref: Obj, namespace: str) -> tuple[list[Obj], str]:
        kind, name = ref.get("kind", ""), ref.get("name", "")
        if kind == "Role":
            role = self.source.role(namespace, name)
            if role is None:
                return [], f'role.rbac.authorization.k8s.io "{name}" not found'
        elif kind == "ClusterRole":
            role = self.source.cluster_role(name)
            if role is None:
                return [], f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        else:
            return [], f'unsupported role reference kind: "{kind}"'
        return list(role.get("rules") or ()), ""

    def visit_rules_for(self, user: UserInfo, namespace: str, visitor: Visitor) -> None:
        """ClusterRoleBindings first, then the RoleBindings of the request's namespace."""
        scopes = [("", self.source.cluster_role_bindings())]
        if namespace:
            scopes.append((namespace, self.source.role_bindings(namespace)))
        for ns, bindings in scopes:
            for binding in bindings:
                subject = applies_to(user, binding, ns)
                if subject is None:
                    continue
                rules, err = self.get_role_reference_rules(binding.get("roleRef", {}), ns)
                if err:
                    if not visitor("", None, err):
                        return
                    continue
                source = describe_binding(binding, subject)
                for rule in rules:
                    if not visitor(source, rule, ""):
                        return


@dataclass
class _AuthorizingVisitor:
    attrs: Attributes
    allowed: bool = False
    reason: str = ""
    errors: list[str] | None = None

    def visit(self, source: str, rule: Obj | None, err: str) -> bool:
        if rule is not None and rule_allows(self.attrs, rule):
            self.allowed, self.reason = True, f"RBAC: allowed by {source}"
            return False
        if err:
            self.errors = [*(self.errors or []), err]
        return True


class RBACAuthorizer:
    """rbac.New: Allow when some bound rule allows, else NoOpinion with the lookup errors."""

    def __init__(self, source: PolicySource) -> None:
        self.resolver = RuleResolver(source)

    def authorize(self, attrs: Attributes) -> tuple[int, str]:
        v = _AuthorizingVisitor(attrs)
        self.resolver.visit_rules_for(attrs.user, attrs.namespace, v.visit)
        if v.allowed:
            return DECISION_ALLOW, v.reason
        reason = ""
        if v.errors:
            # utilerrors.NewAggregate: one error as is, several as a bracketed list
            joined = v.errors[0] if len(v.errors) == 1 else "[" + ", ".join(v.errors) + "]"
            reason = f"RBAC: {joined}"
        return DECISION_NO_OPINION, reason
