"""Counters, gauges and histograms under Envoy's stat names, and their two renderings.

Mirrors source/common/stats/ (ThreadLocalStoreImpl's scopes: `cluster.<name>.`,
`http.<stat_prefix>.`, `listener.<address>.`) and source/server/admin/stats_handler.cc +
prometheus_stats.cc (`/stats` text, `/stats/prometheus` with tag extraction per
source/common/config/well_known_names.cc, e.g. `envoy_cluster_name`).
With worker processes each process keeps its own store and `merge_stores` gives the admin one
view, as the central store does for Envoy's thread-local caches: counters and gauges add up,
histograms add their buckets, and a derived gauge takes its own merge rule.
Omitted: stats sinks, the symbol table, histogram buckets other than the default ones.
"""

from __future__ import annotations

import bisect
import re


class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, n: int = 1) -> None:
        self.value += n


class Gauge:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, n: int = 1) -> None:
        self.value += n

    def dec(self, n: int = 1) -> None:
        self.value -= n

    def set(self, v: int) -> None:
        self.value = v


class DerivedGauge:
    """A gauge read from its owner's state when rendered (e.g. a circuit breaker's `_open`),
    so the request path updates only the owner's count. `merge` combines the values of workers
    that register the same gauge; one registered on main only (the breakers' gauges, which read
    the shared counts) keeps main's value."""

    __slots__ = ("fn", "merge")

    def __init__(self, fn, merge=max) -> None:
        self.fn = fn
        self.merge = merge

    @property
    def value(self) -> int:
        return self.fn()


# Envoy's default histogram bucket bounds (source/common/stats/histogram_impl.h), in ms.
BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
           600000, 1800000, 3600000)  # fmt: skip


class Histogram:
    __slots__ = ("counts", "sum", "count", "samples")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0
        self.samples: list[float] = []

    def record(self, v: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, v)] += 1
        self.sum += v
        self.count += 1
        if len(self.samples) < 10000:
            self.samples.append(v)

    def quantile(self, q: float) -> float:
        if not self.samples:
            return 0.0
        s = sorted(self.samples)
        return s[min(len(s) - 1, int(q * len(s)))]


class Scope:
    """A prefix over the store, like Stats::Scope::createScope."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def counter(self, name: str) -> Counter:
        return self.store.counter(self.prefix + name)

    def gauge(self, name: str) -> Gauge:
        return self.store.gauge(self.prefix + name)

    def histogram(self, name: str) -> Histogram:
        return self.store.histogram(self.prefix + name)

    def derived_gauge(self, name: str, fn, merge=max) -> DerivedGauge:
        g = self.store.gauges[self.prefix + name] = DerivedGauge(fn, merge)
        return g

    def scope(self, prefix: str) -> Scope:
        return Scope(self.store, self.prefix + prefix)


class Store:
    """All stats of one server, keyed by their full Envoy name."""

    def __init__(self) -> None:
        self.counters: dict[str, Counter] = {}
        self.gauges: dict[str, Gauge] = {}
        self.histograms: dict[str, Histogram] = {}

    def counter(self, name: str) -> Counter:
        c = self.counters.get(name)
        if c is None:
            c = self.counters[name] = Counter()
        return c

    def gauge(self, name: str) -> Gauge:
        g = self.gauges.get(name)
        if g is None:
            g = self.gauges[name] = Gauge()
        return g

    def histogram(self, name: str) -> Histogram:
        h = self.histograms.get(name)
        if h is None:
            h = self.histograms[name] = Histogram()
        return h

    def scope(self, prefix: str) -> Scope:
        return Scope(self, prefix)

    def value(self, name: str) -> int:
        if name in self.counters:
            return self.counters[name].value
        if name in self.gauges:
            return self.gauges[name].value
        raise KeyError(name)


def merge_stores(main: Store, workers: list) -> Store:
    """One store holding `main`'s stats plus every worker's StatsReply. The main process owns
    the control-plane stats and the workers the data-plane ones, so sums count each event once."""
    if not workers:
        return main
    out = Store()
    for k, c in main.counters.items():
        out.counter(k).value = c.value
    for k, g in main.gauges.items():
        if not isinstance(g, DerivedGauge):
            out.gauge(k).value = g.value
    for k, h in main.histograms.items():
        _add_histogram(out.histogram(k), h.counts, h.sum, h.count, h.samples)
    derived: dict[str, list[int]] = {}
    for r in workers:
        for k, v in r.counters.items():
            out.counter(k).value += v
        for k, v in r.gauges.items():
            out.gauge(k).value += v
        for k, v in r.derived.items():
            derived.setdefault(k, []).append(v)
        for k, h in r.histograms.items():
            _add_histogram(out.histogram(k), h.counts, h.sum, h.count, h.samples)
    for k, g in main.gauges.items():
        if isinstance(g, DerivedGauge):
            out.gauge(k).value = g.merge(derived[k]) if k in derived else g.value
    return out


def _add_histogram(h: Histogram, counts: list[int], total: float, n: int, samples) -> None:
    h.counts = [a + b for a, b in zip(h.counts, counts, strict=True)]
    h.sum += total
    h.count += n
    h.samples.extend(samples[: 10000 - len(h.samples)])


def render_text(store: Store, filter_re: str | None = None, used_only: bool = False) -> str:
    """The `/stats` body: `name: value` sorted, histograms last as P-quantiles."""
    pat = re.compile(filter_re) if filter_re else None
    lines = []
    flat = {
        **{k: c.value for k, c in store.counters.items()},
        **{k: g.value for k, g in store.gauges.items()},
    }
    for name in sorted(flat):
        if (pat and not pat.search(name)) or (used_only and flat[name] == 0):
            continue
        lines.append(f"{name}: {flat[name]}")
    for name in sorted(store.histograms):
        h = store.histograms[name]
        if pat and not pat.search(name):
            continue
        if h.count == 0:
            lines.append(f"{name}: No recorded values")
            continue
        qs = ", ".join(
            f"P{int(q * 100)}({h.quantile(q):g},{h.quantile(q):g})" for q in (0.5, 0.9, 0.99)
        )
        lines.append(f"{name}: {qs}")
    return "\n".join(lines) + "\n"


# (regex over the full name, tag name): the first group is removed from the name and becomes
# the tag value, as the well-known tag extractors do.
_TAGS = [
    (re.compile(r"^cluster\.((.+?)\.)"), "envoy_cluster_name"),
    (re.compile(r"^http\.((.*?)\.)"), "envoy_http_conn_manager_prefix"),
    (
        re.compile(r"^listener\.(((?:[_.\[:\]0-9a-zA-Z]+?))\.)(?=downstream|http|ssl|server)"),
        "envoy_listener_address",
    ),
    (re.compile(r"_rq(_(\d{3}))$"), "envoy_response_code"),
    (re.compile(r"_rq(_(\dxx))$"), "envoy_response_code_class"),
]


def _extract(name: str, cluster_names: set[str]) -> tuple[str, list[tuple[str, str]]]:
    tags = []
    for rx, tag in _TAGS:
        if tag == "envoy_cluster_name" and name.startswith("cluster."):
            rest = name[len("cluster.") :]
            best = max(
                (c for c in cluster_names if rest.startswith(c + ".")), key=len, default=None
            )
            if best is not None:
                tags.append((tag, best))
                name = "cluster." + rest[len(best) + 1 :]
                continue
        m = rx.search(name)
        if m:
            value = m.group(2)
            if tag == "envoy_response_code_class":
                value = value[0]
            tags.append((tag, value))
            name = name[: m.start(1)] + name[m.end(1) :]
            if tag in ("envoy_response_code", "envoy_response_code_class"):
                name += "_xx" if tag == "envoy_response_code_class" else ""
    return name, tags


def _prom_name(name: str) -> str:
    return "envoy_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)


def render_prometheus(store: Store, cluster_names: set[str]) -> str:
    """The `/stats/prometheus` body in text exposition format 0.0.4."""
    families: dict[str, tuple[str, list[str]]] = {}
    for kind, table in (("counter", store.counters), ("gauge", store.gauges)):
        for full, stat in table.items():
            name, tags = _extract(full, cluster_names)
            label = ",".join(f'{k}="{v}"' for k, v in tags)
            fam = families.setdefault(_prom_name(name), (kind, []))
            fam[1].append(f"{_prom_name(name)}{{{label}}} {stat.value}")
    out = []
    for fam_name in sorted(families):
        kind, samples = families[fam_name]
        out.append(f"# TYPE {fam_name} {kind}")
        out.extend(sorted(samples))
    for full, h in sorted(store.histograms.items()):
        name, tags = _extract(full, cluster_names)
        base = _prom_name(name)
        label = ",".join(f'{k}="{v}"' for k, v in tags)
        sep = "," if label else ""
        out.append(f"# TYPE {base} histogram")
        cum = 0
        for bound, n in zip(BUCKETS, h.counts, strict=False):
            cum += n
            out.append(f'{base}_bucket{{{label}{sep}le="{bound:g}"}} {cum}')
        out.append(f'{base}_bucket{{{label}{sep}le="+Inf"}} {h.count}')
        out.append(f"{base}_sum{{{label}}} {h.sum:g}")
        out.append(f"{base}_count{{{label}}} {h.count}")
    return "\n".join(out) + "\n"
