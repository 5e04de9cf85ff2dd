"""The main ↔ worker channel's pure parts: framing and the stats merge.

Framing must give back exactly the messages sent whatever the read boundaries (a stream
socket splits and joins frames freely); the merge must count each event once: counters and
gauges add, histograms add buckets, derived gauges use their own rule.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from miniproxy.envoy.stats import Store, merge_stores
from miniproxy.envoy.worker_channel import (
    Applied,
    FrameReader,
    HistogramData,
    OutlierResults,
    StatsReply,
    encode,
)

messages = st.one_of(
    st.builds(Applied, st.integers(0, 2**40)),
    st.builds(
        OutlierResults,
        st.lists(
            st.tuples(
                st.text(max_size=8),
                st.text(max_size=12),
                st.one_of(st.integers(100, 599), st.sampled_from(["connect_failure", "timeout"])),
            ),
            max_size=5,
        ),
    ),
)


@given(st.lists(messages, max_size=8), st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_frames_come_back_whole_whatever_the_read_boundaries(msgs, cuts):
    data = b"".join(encode(m) for m in msgs)
    reader, got, pos, i = FrameReader(), [], 0, 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        got += reader.feed(data[pos : pos + n])
        pos, i = pos + n, i + 1
    assert got == msgs and reader.buf == b""


def _reply(counters, gauges, derived=None, hist=None) -> StatsReply:
    return StatsReply(0, counters, gauges, derived or {}, hist or {}, {})


def test_merge_adds_workers_to_main_and_derived_gauges_use_their_rule():
    main = Store()
    main.counter("cluster.a.membership_change").value = 1  # control plane: main only
    main.gauge("cluster.a.membership_total").value = 2
    main.counter("cluster.a.upstream_rq_total")  # created by main's cluster, never counted there
    s = main.scope("cluster.a.circuit_breakers.default.")
    s.derived_gauge("rq_open", lambda: 0, max)
    s.derived_gauge("remaining_rq", lambda: 5, min)
    main.histogram("cluster.a.upstream_rq_time").record(3)
    w0 = _reply({"cluster.a.upstream_rq_total": 7}, {"cluster.a.upstream_rq_active": 1},
                {"cluster.a.circuit_breakers.default.rq_open": 1,
                 "cluster.a.circuit_breakers.default.remaining_rq": 0},
                {"cluster.a.upstream_rq_time": HistogramData([0, 0, 1] + [0] * 17, 2.0, 1, [2.0])})  # fmt: skip
    w1 = _reply({"cluster.a.upstream_rq_total": 5, "http.x.downstream_rq_total": 5},
                {"cluster.a.upstream_rq_active": 2},
                {"cluster.a.circuit_breakers.default.rq_open": 0,
                 "cluster.a.circuit_breakers.default.remaining_rq": 3})  # fmt: skip
    out = merge_stores(main, [w0, w1])
    assert out.value("cluster.a.upstream_rq_total") == 12
    assert out.value("http.x.downstream_rq_total") == 5
    assert out.value("cluster.a.membership_change") == 1
    assert out.value("cluster.a.membership_total") == 2
    assert out.value("cluster.a.upstream_rq_active") == 3
    assert out.value("cluster.a.circuit_breakers.default.rq_open") == 1  # open on one worker
    assert out.value("cluster.a.circuit_breakers.default.remaining_rq") == 0  # the tightest
    h = out.histograms["cluster.a.upstream_rq_time"]
    assert (h.count, h.sum, sorted(h.samples)) == (2, 5.0, [2.0, 3])
    assert main.value("cluster.a.upstream_rq_total") == 0  # main's own store is untouched
    assert merge_stores(main, []) is main  # one process: nothing to merge
