"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): parse, default, expand.

Mirrors pkg/scheduler/apis/config/v1/default_plugins.go (getDefaultPlugins,
mergePlugins), defaults.go (SetDefaults_KubeSchedulerConfiguration and the plugin
args defaults) and runtime/framework.go (expandMultiPointPlugins). The default
profile enables, through multiPoint, the in-tree plugins with the score weights
TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2,
NodeResourcesFit 1, NodeResourcesBalancedAllocation 1, ImageLocality 1.
Omitted: leaderElection/clientConnection blocks (read by __main__ flags), extenders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from minischeduler.framework.runtime import EXTENSION_POINTS, Framework, Handle
from minischeduler.plugins.registry import IN_TREE_REGISTRY

API_VERSION = "kubescheduler.config.k8s.io/v1"
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_MULTI_POINT: list[tuple[str, int]] = [
    ("SchedulingGates", 0),
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
]


class ConfigError(ValueError):
    """Raised with a message in upstream's validation wording."""


@dataclass
class Profile:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    percentage_of_nodes_to_score: int | None = None
    plugins: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    plugin_config: dict[str, dict] = field(default_factory=dict)


@dataclass
class KubeSchedulerConfiguration:
    percentage_of_nodes_to_score: int | None = None
    pod_initial_backoff_seconds: int = 1
    pod_max_backoff_seconds: int = 10
    profiles: list[Profile] = field(default_factory=list)


def load(text: str | None) -> KubeSchedulerConfiguration:
    """Parse YAML (None or empty: all defaults)."""
    raw = yaml.safe_load(text) if text else {}
    return parse(raw or {})


def parse(raw: dict[str, Any]) -> KubeSchedulerConfiguration:
    api_version = raw.get("apiVersion", API_VERSION)
    kind = raw.get("kind", "KubeSchedulerConfiguration")
    if api_version != API_VERSION or kind != "KubeSchedulerConfiguration":
        raise ConfigError(f'no kind "{kind}" is registered for version "{api_version}"')
    cfg = KubeSchedulerConfiguration(
        percentage_of_nodes_to_score=raw.get("percentageOfNodesToScore"),
        pod_initial_backoff_seconds=int(raw.get("podInitialBackoffSeconds", 1)),
        pod_max_backoff_seconds=int(raw.get("podMaxBackoffSeconds", 10)),
    )
    for p in raw.get("profiles") or [{}]:
        cfg.profiles.append(
            Profile(
                scheduler_name=p.get("schedulerName", DEFAULT_SCHEDULER_NAME),
                percentage_of_nodes_to_score=p.get("percentageOfNodesToScore"),
                plugins=p.get("plugins") or {},
                plugin_config={c["name"]: c.get("args") or {} for c in p.get("pluginConfig", [])},
            )
        )
    validate(cfg)
    return cfg


def validate(cfg: KubeSchedulerConfiguration) -> None:
    pct = cfg.percentage_of_nodes_to_score
    if pct is not None and not 0 <= pct <= 100:
        raise ConfigError(
            f"percentageOfNodesToScore: Invalid value: {pct}: not in valid range [0-100]"
        )
    names = [p.scheduler_name for p in cfg.profiles]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f'profiles[{i}].schedulerName: Duplicate value: "{n}"')


def merge_plugin_set(defaults: list[dict], custom: dict | None) -> list[dict]:
    """mergePluginSet: drop disabled defaults ("*" = all), custom replaces same-named."""
    custom = custom or {}
    disabled = {d["name"] for d in custom.get("disabled") or []}
    enabled = list(custom.get("enabled") or [])
    by_name = {e["name"]: e for e in enabled}
    out, replaced = [], set()
    for d in defaults:
        if "*" in disabled or d["name"] in disabled:
            continue
        if d["name"] in by_name:
            out.append(by_name[d["name"]])
            replaced.add(d["name"])
        else:
            out.append(d)
    out.extend(e for e in enabled if e["name"] not in replaced)
    return out


def _fill_point(profile: Profile, point: str, method: str, multi, instance, weights) -> list:
    """expandMultiPointPlugins: the point's own enabled list first, then multiPoint's."""
    specific = profile.plugins.get(point) or {}
    disabled = {d["name"] for d in specific.get("disabled") or []}
    chosen: list[Any] = []
    for e in specific.get("enabled") or []:
        pl = instance(e["name"])
        if not hasattr(pl, method):
            raise ConfigError(f'plugin "{e["name"]}" does not extend {point} plugin')
        chosen.append(pl)
        if point == "score" and e.get("weight"):
            weights[e["name"]] = int(e["weight"])
    for e in multi:
        name = e["name"]
        if "*" in disabled or name in disabled:
            continue
        pl = instance(name)
        if hasattr(pl, method) and pl not in chosen:
            chosen.append(pl)
    return chosen


def build_framework(
    profile: Profile, handle: Handle, global_percentage: int | None = None
) -> Framework:
    """NewFramework: instantiate each plugin once, then fill every extension point."""
    defaults = [{"name": n, "weight": w} for n, w in DEFAULT_MULTI_POINT]
    multi = merge_plugin_set(defaults, profile.plugins.get("multiPoint"))
    instances: dict[str, Any] = {}

    def instance(name: str) -> Any:
        if name not in instances:
            if name not in IN_TREE_REGISTRY:
                raise ConfigError(f'plugin "{name}" does not exist')
            instances[name] = IN_TREE_REGISTRY[name](handle, profile.plugin_config.get(name, {}))
        return instances[name]

    weights: dict[str, int] = {}
    for e in multi:
        if e.get("weight"):
            weights[e["name"]] = int(e["weight"])
    points = {
        point: _fill_point(profile, point, method, multi, instance, weights)
        for point, method in EXTENSION_POINTS.items()
    }
    if len(points["queueSort"]) != 1:
        raise ConfigError("only one queue sort plugin can be enabled")
    if not points["bind"]:
        raise ConfigError("at least one bind plugin is needed")
    for pl in points["score"]:
        weights.setdefault(pl.name, 1)
    pct = profile.percentage_of_nodes_to_score
    return Framework(
        profile.scheduler_name,
        points,
        weights,
        handle,
        pct if pct is not None else global_percentage,
    )
