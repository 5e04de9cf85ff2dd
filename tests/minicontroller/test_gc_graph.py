"""The garbage collector's graph (minicontroller/garbagecollector/graph.py), without I/O."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from minicontroller.garbagecollector.graph import (
    ADD,
    ATTEMPT_TO_DELETE,
    ATTEMPT_TO_ORPHAN,
    DELETE,
    UPDATE,
    Event,
    Graph,
    Identity,
    Owner,
)


def ident(uid: str, kind: str = "ReplicaSet") -> Identity:
    return Identity("apps/v1", kind, "ns", f"name-{uid}", uid)


def owner(uid: str, block: bool = True) -> Owner:
    return Owner("apps/v1", "Deployment", f"name-{uid}", uid, block)


def test_dependent_before_owner_makes_a_virtual_owner_to_verify():
    g = Graph()
    work = g.process(Event(ADD, ident("rs"), (owner("d"),)))
    assert work == [(ATTEMPT_TO_DELETE, "d")]
    assert g.nodes["d"].virtual and g.nodes["d"].dependents == {"rs"}
    # The informer then reports the owner: observed, no more work.
    assert g.process(Event(ADD, ident("d", "Deployment"))) == []
    assert not g.nodes["d"].virtual and g.nodes["d"].dependents == {"rs"}


def test_owner_deleted_wakes_its_dependents():
    g = Graph()
    g.process(Event(ADD, ident("d", "Deployment")))
    g.process(Event(ADD, ident("rs1"), (owner("d"),)))
    g.process(Event(ADD, ident("rs2"), (owner("d"),)))
    work = g.process(Event(DELETE, ident("d", "Deployment")))
    assert work == [(ATTEMPT_TO_DELETE, "rs1"), (ATTEMPT_TO_DELETE, "rs2")]
    assert "d" not in g.nodes


def test_foreground_starts_once_and_marks_deleting_dependents():
    g = Graph()
    g.process(Event(ADD, ident("d", "Deployment")))
    g.process(Event(ADD, ident("rs"), (owner("d"),)))
    deleting = Event(UPDATE, ident("d", "Deployment"), (), True, ("foregroundDeletion",))
    assert g.process(deleting) == [(ATTEMPT_TO_DELETE, "rs"), (ATTEMPT_TO_DELETE, "d")]
    assert g.nodes["d"].deleting_dependents
    assert [n.identity.uid for n in g.nodes["d"].blocking_dependents(g)] == ["rs"]
    assert g.process(deleting) == []
    # The dependent going away re-checks the owner waiting for it.
    assert g.process(Event(DELETE, ident("rs"), (owner("d"),))) == [(ATTEMPT_TO_DELETE, "d")]
    assert g.nodes["d"].blocking_dependents(g) == []


def test_orphan_finalizer_queues_the_owner_for_orphaning():
    g = Graph()
    g.process(Event(ADD, ident("d", "Deployment")))
    work = g.process(Event(UPDATE, ident("d", "Deployment"), (), True, ("orphan",)))
    assert work == [(ATTEMPT_TO_ORPHAN, "d")]


def test_unblocking_a_reference_wakes_a_waiting_owner():
    g = Graph()
    g.process(Event(ADD, ident("d", "Deployment"), (), True, ("foregroundDeletion",)))
    g.process(Event(ADD, ident("rs"), (owner("d", block=True),)))
    work = g.process(Event(UPDATE, ident("rs"), (owner("d", block=False),)))
    assert work == [(ATTEMPT_TO_DELETE, "d")]
    assert g.nodes["d"].blocking_dependents(g) == []
    # Dropping the reference unlinks the dependent.
    g.process(Event(UPDATE, ident("rs"), ()))
    assert g.nodes["d"].dependents == set()


def test_virtual_delete_ignored_once_the_informer_saw_the_object():
    g = Graph()
    g.process(Event(ADD, ident("rs"), (owner("d"),)))
    g.process(Event(ADD, ident("d", "Deployment")))
    assert g.process(Event(DELETE, ident("d", "Deployment"), virtual=True)) == []
    assert "d" in g.nodes
    g2 = Graph()
    g2.process(Event(ADD, ident("rs"), (owner("d"),)))
    assert g2.process(Event(DELETE, ident("d"), virtual=True)) == [(ATTEMPT_TO_DELETE, "rs")]
    assert "d" not in g2.nodes


UIDS = [f"u{i}" for i in range(6)]

events = st.lists(
    st.tuples(
        st.sampled_from([ADD, UPDATE, DELETE]),
        st.sampled_from(UIDS),
        st.lists(st.tuples(st.sampled_from(UIDS), st.booleans()), max_size=3),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_dependents_always_mirror_owner_references(evs):
    """After any event sequence, dependents sets are exactly the reverse of owners lists."""
    g = Graph()
    for kind, uid, refs in evs:
        owners = tuple({o: owner(o, b) for o, b in refs if o != uid}.values())
        work = g.process(Event(kind, ident(uid), owners))
        assert all(q in (ATTEMPT_TO_DELETE, ATTEMPT_TO_ORPHAN) for q, _ in work)
    assert not set(g.unowned) & set(g.nodes)
    for uid, node in g.nodes.items():
        for o in node.owners:
            if o.uid in g.nodes:
                assert uid in g.nodes[o.uid].dependents
            else:
                assert uid in g.unowned[o.uid]
        for d in node.dependents:
            assert d in g.nodes and any(o.uid == uid for o in g.nodes[d].owners)
    for owner_uid, deps in g.unowned.items():
        assert deps and all(any(o.uid == owner_uid for o in g.nodes[d].owners) for d in deps)
