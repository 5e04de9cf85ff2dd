"""The admission chain: mutating plugins in order, then validating plugins in order.

Mirrors k8s.io/apiserver/pkg/admission/chain.go (chainAdmissionHandler: Admit runs
every MutationInterface that Handles the operation, Validate every
ValidationInterface), handler.go (Handles), and the plugin selection of
apiserver/pkg/server/options/admission.go (enabledPluginNames, Validate: unknown
and overlapping names) with kube-apiserver's order and default-off set
(pkg/kubeapiserver/options/plugins.go: AllOrderedPlugins, DefaultOffAdmissionPlugins).
The first plugin to raise stops the chain; its Status is the answer.
Only the plugins built here can be named; see ORDERED_PLUGINS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from miniapiserver.admission.attributes import Attributes

Hook = Callable[[Attributes], Awaitable[None]]

# AllOrderedPlugins, restricted to the plugins minicloud has: webhooks and quota go last.
ORDERED_PLUGINS = (
    "AlwaysAdmit",
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "Priority",
    "DefaultTolerationSeconds",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
    "AlwaysDeny",
)
# Upstream's off-by-default plugins, plus ServiceAccount: it refuses pods whose account
# is missing and mounts a volume built from each namespace's kube-root-ca.crt, so it needs
# minicontroller's serviceaccount and root-ca publisher controllers. A bare API server has
# neither; the toy cluster runs both and passes `--enable-admission-plugins=ServiceAccount`.
# NodeRestriction is off by default upstream too.
DEFAULT_OFF_PLUGINS = frozenset({"AlwaysAdmit", "AlwaysDeny", "ServiceAccount", "NodeRestriction"})


@dataclass
class Plugin:
    """One admission plugin: its name, the operations it handles and its two hooks."""

    name: str
    operations: frozenset[str]
    admit: Hook | None = None  # the mutating phase (MutationInterface.Admit)
    validate: Hook | None = None  # the validating phase (ValidationInterface.Validate)

    def handles(self, operation: str) -> bool:
        return operation in self.operations


class Chain:
    """chainAdmissionHandler over the enabled plugins, in ORDERED_PLUGINS order."""

    def __init__(self, plugins: Iterable[Plugin]) -> None:
        self.plugins = list(plugins)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.plugins]

    async def admit(self, a: Attributes) -> None:
        for p in self.plugins:
            if p.admit is not None and p.handles(a.operation):
                await p.admit(a)

    async def validate(self, a: Attributes) -> None:
        for p in self.plugins:
            if p.validate is not None and p.handles(a.operation):
                await p.validate(a)


def check_plugin_names(enable: list[str], disable: list[str]) -> list[str]:
    """AdmissionOptions.Validate's errors for the two flags (empty when fine)."""
    errs = [
        f'enable-admission-plugins plugin "{n}" is unknown'
        for n in enable
        if n not in ORDERED_PLUGINS
    ]
    errs += [
        f'disable-admission-plugins plugin "{n}" is unknown'
        for n in disable
        if n not in ORDERED_PLUGINS
    ]
    both = sorted(set(enable) & set(disable))
    if both:
        errs.append(
            f"[{' '.join(both)}] in enable-admission-plugins and disable-admission-plugins overlapped"
        )
    return errs


def enabled_plugin_names(enable: list[str], disable: list[str]) -> list[str]:
    """enabledPluginNames: the default-on plugins plus --enable, minus --disable, in order."""
    disabled = (DEFAULT_OFF_PLUGINS | set(disable)) - set(enable)
    return [n for n in ORDERED_PLUGINS if n not in disabled]
