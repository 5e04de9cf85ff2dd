"""Beyond upstream: why a pod landed where it did, or why it is pending.

Not an upstream mirror. kube-scheduler only keeps the aggregate FailedScheduling
message; here the Framework records, for the pod's last attempt, each node's verdict
per filter plugin and each score plugin's raw and normalized score and weight, and
`format_explain` renders that as a table next to the winner and the message.
"""

from __future__ import annotations

from minischeduler.framework.runtime import Explain


def format_explain(ex: Explain) -> str:
    lines = [f"pod {ex.pod}"]
    lines.append("filters (first rejecting plugin per node, as upstream stops there):")
    for node in sorted(ex.filters):
        verdicts = ex.filters[node]
        failed = [f"{p}: {v}" for p, v in verdicts.items() if v != "passed"]
        lines.append(f"  {node:<20} {'REJECTED ' + failed[0] if failed else 'passed'}")
    if ex.raw_scores:
        nodes = sorted({n for per in ex.raw_scores.values() for n in per})
        lines.append("scores (raw -> normalized x weight):")
        for plugin in ex.raw_scores:
            w = ex.weights.get(plugin, 1)
            cells = ", ".join(
                f"{n} {ex.raw_scores[plugin][n]}->{ex.normalized[plugin][n]}x{w}" for n in nodes
            )
            lines.append(f"  {plugin:<32} {cells}")
        lines.append("totals: " + ", ".join(f"{n} {ex.totals.get(n, 0)}" for n in nodes))
    if ex.winner:
        lines.append(f"winner: {ex.winner}")
    if ex.message:
        lines.append(f"message: {ex.message}")
    return "\n".join(lines)


def explain_to_dict(ex: Explain) -> dict:
    """The /debug/explain JSON body."""
    return {
        "pod": ex.pod,
        "filters": ex.filters,
        "rawScores": ex.raw_scores,
        "normalizedScores": ex.normalized,
        "weights": ex.weights,
        "totals": ex.totals,
        "winner": ex.winner,
        "message": ex.message,
    }
