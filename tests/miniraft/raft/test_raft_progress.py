"""Progress and Inflights (etcd-io/raft tracker/progress_test.go, inflights_test.go)."""

from __future__ import annotations

from miniraft.raft.tracker import Inflights, Progress, ProgressStateType


def test_inflights_window() -> None:
    inf = Inflights(3)
    for i in (5, 7, 9):
        inf.add(i, 10)
    assert inf.full()
    inf.free_le(6)
    assert inf.count() == 2 and not inf.full()
    inf.free_le(100)
    assert inf.count() == 0 and inf.bytes == 0
    by_bytes = Inflights(10, max_bytes=25)
    by_bytes.add(1, 20)
    assert not by_bytes.full()
    by_bytes.add(2, 10)
    assert by_bytes.full()


def test_probe_pauses_after_one_append() -> None:
    pr = Progress(match=1, next=2)
    pr.sent_entries(1, 10)
    assert pr.is_paused()
    assert pr.maybe_update(2) and not pr.is_paused()


def test_replicate_streams_until_window_full() -> None:
    pr = Progress(match=1, next=2, inflights=Inflights(2))
    pr.become_replicate()
    pr.sent_entries(3, 30)
    assert pr.next == 5 and not pr.is_paused()
    pr.sent_entries(1, 10)
    assert pr.is_paused()
    pr.inflights.free_le(4)
    pr.msg_app_flow_paused = pr.inflights.full()
    assert not pr.is_paused()


def test_maybe_decr_to() -> None:
    pr = Progress(match=5, next=10)
    pr.become_replicate()
    assert not pr.maybe_decr_to(5, 5)  # stale rejection
    assert pr.maybe_decr_to(9, 9) and pr.next == 6
    probe = Progress(match=0, next=10)
    assert not probe.maybe_decr_to(5, 5)  # not the outstanding probe
    assert probe.maybe_decr_to(9, 3) and probe.next == 4  # the hint skips ahead


def test_snapshot_state_resumes_after_pending_snapshot() -> None:
    pr = Progress(match=3, next=4)
    pr.become_snapshot(20)
    assert pr.state == ProgressStateType.SNAPSHOT and pr.is_paused()
    pr.become_probe()
    assert pr.next == 21
    assert str(pr) == "StateProbe match=3 next=21 inactive"
