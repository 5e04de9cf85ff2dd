"""The SafetyChecker itself: fed hand-made Ready batches, each property must
flag the history that breaks it (so a green simulation means something)."""

from __future__ import annotations

from miniraft.raft import Entry, HardState, Ready, SoftState, StateType
from miniraft.sim.checker import SafetyChecker


def ents(*pairs: tuple[int, int], data: bytes = b"") -> tuple[Entry, ...]:
    return tuple(Entry(term=t, index=i, data=data) for i, t in pairs)


def lead(term: int, commit: int = 1) -> Ready:
    return Ready(
        soft_state=SoftState(0, StateType.LEADER), hard_state=HardState(term=term, commit=commit)
    )


def test_clean_history_has_no_violations() -> None:
    c = SafetyChecker([1, 2, 3])
    c.on_ready(1, 1, Ready(entries=ents((2, 1)), hard_state=HardState(term=1, vote=1, commit=1)))
    c.on_ready(2, 1, lead(1))
    c.on_ready(3, 2, Ready(entries=ents((2, 1)), hard_state=HardState(term=1, commit=2)))
    c.on_ready(3, 1, Ready(hard_state=HardState(term=1, vote=1, commit=2)))
    assert c.violations == []


def test_two_leaders_in_one_term() -> None:
    c = SafetyChecker([1, 2, 3])
    c.on_ready(1, 1, lead(2))
    c.on_ready(1, 2, lead(2))
    assert any("Election Safety" in v for v in c.violations)


def test_leader_truncating_its_log() -> None:
    c = SafetyChecker([1, 2, 3])
    c.on_ready(1, 1, lead(2))
    c.on_ready(2, 1, Ready(entries=ents((2, 2), (3, 2))))
    c.on_ready(3, 1, Ready(entries=ents((3, 3))))
    assert any("Leader Append-Only" in v for v in c.violations)


def test_same_index_and_term_with_different_prefix() -> None:
    c = SafetyChecker([1, 2, 3])
    c.on_ready(1, 1, Ready(entries=ents((2, 1), data=b"a") + ents((3, 2))))
    c.on_ready(1, 2, Ready(entries=ents((2, 1), data=b"b") + ents((3, 2))))
    assert any("Log Matching" in v for v in c.violations)


def test_committed_entry_changed_and_missing_from_new_leader() -> None:
    c = SafetyChecker([1, 2, 3])
    c.on_ready(1, 1, Ready(entries=ents((2, 1), data=b"a"), hard_state=HardState(term=1, commit=2)))
    c.on_ready(2, 2, Ready(entries=ents((2, 2), data=b"b"), hard_state=HardState(term=2, commit=2)))
    c.on_ready(3, 2, lead(2, commit=2))
    assert any("State Machine Safety" in v for v in c.violations)
    assert any("Leader Completeness" in v for v in c.violations)


def test_applied_entries_must_agree() -> None:
    c = SafetyChecker([1, 2])
    c.on_apply(1, 1, Entry(term=1, index=2, data=b"x"))
    c.on_apply(2, 2, Entry(term=1, index=2, data=b"x"))
    assert c.violations == []
    c.on_apply(3, 2, Entry(term=2, index=3, data=b"y"))
    c.on_apply(4, 1, Entry(term=3, index=3, data=b"z"))
    assert any("applied" in v for v in c.violations)


def test_stale_read() -> None:
    c = SafetyChecker([1])
    c.on_read(1, 1, read_index=10, acked_at_issue=10)
    assert c.violations == []
    c.on_read(2, 1, read_index=9, acked_at_issue=10)
    assert any("Linearizability" in v for v in c.violations)
