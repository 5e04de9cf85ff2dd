"""Sending one request to the webhooks that match it, and acting on their answers.

Mirrors k8s.io/apiserver/pkg/admission/plugin/webhook/generic/webhook.go (Webhook.Dispatch,
ShouldCallHook: namespaceSelector, objectSelector, rules), mutating/dispatcher.go
(webhooks called one after another, each JSONPatch applied before the next is asked;
an invalid patch is a 500) and validating/dispatcher.go (webhooks called in parallel,
any denial refuses). failurePolicy Ignore skips a webhook that cannot be called or
answers nonsense; Fail (the default) turns that into a 500 InternalError. A dry run
never reaches a webhook whose sideEffects are not None / NoneOnDryRun.
reinvocationPolicy IfNeeded (reinvocation.go, the dispatcher's webhookReinvokeContext):
a mutating webhook that ran before a later webhook changed the object is called once
more, after the first pass, so it sees the final object. Omitted: re-running the
built-in mutating plugins in that second pass (ours all run before the webhooks and
would not change the object again), audit annotations, warnings headers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from miniapi import errors
from miniapi.admissionregistration.v1 import MutatingWebhook, ValidatingWebhook
from miniapi.runtime import GroupResource
from miniapiserver.admission.attributes import Attributes
from miniapiserver.admission.webhook import review, rules
from miniapiserver.admission.webhook.client import CallingWebhookError
from miniapiserver.patch.jsonpatch import PatchError, apply_json_patch

log = logging.getLogger(__name__)

Hook = MutatingWebhook | ValidatingWebhook
# (webhook name, clientConfig, timeoutSeconds, review) -> response body
Caller = Callable[[Hook, dict[str, Any]], Awaitable[bytes]]
NamespaceLabels = Callable[[str], Awaitable[dict[str, str] | None]]
IGNORE = "Ignore"
IF_NEEDED = "IfNeeded"
SIDE_EFFECT_FREE = ("None", "NoneOnDryRun")


async def should_call(h: Hook, a: Attributes, ns_labels: NamespaceLabels) -> bool:
    """ShouldCallHook: selectors first, then the rules."""
    labels = None
    if rules.needs_namespace_labels(h.namespace_selector, a):
        labels = await ns_labels(rules.namespace_name(a))
        if labels is None:
            raise errors.new_not_found(GroupResource("", "namespaces"), rules.namespace_name(a))
    if not rules.namespace_matches(h.namespace_selector, a, labels):
        return False
    if not rules.object_matches(h.object_selector, a):
        return False
    return any(rules.rule_matches(r, a) for r in h.rules)


async def _ask(h: Hook, a: Attributes, mutating: bool, caller: Caller) -> review.Result | None:
    """One call; None when the webhook failed and its failurePolicy is Ignore."""
    if a.dry_run and h.side_effects not in SIDE_EFFECT_FREE:
        raise review.dry_run_unsupported(h.name)
    uid = str(uuid.uuid4())
    try:
        body = await caller(h, review.create_review(uid, a))
        try:
            return review.verify_response(uid, mutating, body)
        except review.InvalidResponse as e:
            raise CallingWebhookError(h.name, f"received invalid webhook response: {e}") from None
    except CallingWebhookError as e:
        if h.failure_policy == IGNORE:
            log.warning("%s (failurePolicy Ignore)", e)
            return None
        raise errors.new_internal_error(str(e)) from None


async def dispatch_mutating(
    hooks: list[MutatingWebhook], a: Attributes, caller: Caller, ns_labels: NamespaceLabels
) -> None:
    """mutatingDispatcher.Dispatch: in order; each patch changes what the next one sees.
    The IfNeeded webhooks that a later change made stale are called once more."""
    stale = await _mutating_pass(hooks, range(len(hooks)), a, caller, ns_labels)
    if stale:
        await _mutating_pass(hooks, sorted(stale), a, caller, ns_labels)


async def _mutating_pass(
    hooks: list[MutatingWebhook],
    which: Iterable[int],
    a: Attributes,
    caller: Caller,
    ns_labels: NamespaceLabels,
) -> set[int]:
    """Call hooks[i] for i in which; return the IfNeeded ones a later patch changed."""
    invoked: list[int] = []  # AddReinvocableWebhookToPreviouslyInvoked
    stale: set[int] = set()
    for i in which:
        h = hooks[i]
        if not await should_call(h, a, ns_labels):
            continue
        result = await _ask(h, a, True, caller)
        if result is None:
            continue
        if not result.allowed:
            raise review.to_status_err(h.name, result.status)
        if result.patch is not None and _apply(a, result.patch):
            stale.update(invoked)  # RequireReinvokingPreviouslyInvokedPlugins
        if h.reinvocation_policy == IF_NEEDED:
            invoked.append(i)
    return stale


def _apply(a: Attributes, patch: list[Any]) -> bool:
    """Apply a webhook's JSONPatch to the request's object; True when it changed it."""
    try:
        patched = apply_json_patch(a.object, patch)
    except PatchError as e:
        raise errors.new_internal_error(str(e)) from None
    if not isinstance(patched, dict):
        raise errors.new_internal_error("the patched object is not an object")
    changed = patched != a.object
    a.object = patched
    return changed


async def dispatch_validating(
    hooks: list[ValidatingWebhook], a: Attributes, caller: Caller, ns_labels: NamespaceLabels
) -> None:
    """validatingDispatcher.Dispatch: all at once; the first refusal (in order) wins."""
    chosen = [h for h in hooks if await should_call(h, a, ns_labels)]
    results = await asyncio.gather(
        *(_ask(h, a, False, caller) for h in chosen), return_exceptions=True
    )
    for h, result in zip(chosen, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        if result is not None and not result.allowed:
            raise review.to_status_err(h.name, result.status)
