"""Keys, the Indexer's indices and Listers (tools/cache store_test.go, index_test.go)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi import errors, labels
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.runtime import GroupResource
from miniclient.cache.index import NAMESPACE_INDEX
from miniclient.cache.listers import GenericLister
from miniclient.cache.store import (
    DeletedFinalStateUnknown,
    deletion_handling_meta_namespace_key_func,
    meta_namespace_key_func,
    new_indexer,
    split_meta_namespace_key,
)


def pod(ns: str, name: str, rv: str = "1", **lbls: str) -> corev1.Pod:
    return corev1.Pod(
        metadata=metav1.ObjectMeta(namespace=ns, name=name, resource_version=rv, labels=lbls)
    )


def test_keys_for_namespaced_cluster_scoped_and_tombstones():
    assert meta_namespace_key_func(pod("ns", "a")) == "ns/a"
    assert meta_namespace_key_func({"metadata": {"name": "n1"}}) == "n1"
    tomb = DeletedFinalStateUnknown("ns/a", pod("ns", "a"))
    assert deletion_handling_meta_namespace_key_func(tomb) == "ns/a"
    assert split_meta_namespace_key("ns/a") == ("ns", "a")
    assert split_meta_namespace_key("a") == ("", "a")
    with pytest.raises(ValueError, match="unexpected key format"):
        split_meta_namespace_key("a/b/c")


def by_app(obj):
    return [obj.metadata.labels["app"]] if "app" in obj.metadata.labels else []


OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "update", "delete", "replace"]),
        st.sampled_from(["ns1", "ns2", ""]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["web", "db", None]),
    ),
    max_size=40,
)


@given(OPS)
def test_indices_always_match_a_scan(ops):
    indexer = new_indexer(meta_namespace_key_func, None)
    indexer.add_indexers({"app": by_app})
    model: dict[str, corev1.Pod] = {}
    for op, ns, name, app in ops:
        obj = pod(ns, name, **({"app": app} if app else {}))
        key = meta_namespace_key_func(obj)
        if op in ("add", "update"):
            getattr(indexer, op)(obj)
            model[key] = obj
        elif op == "delete":
            indexer.delete(obj)
            model.pop(key, None)
        else:
            indexer.replace([obj], "9")
            model = {key: obj}
    assert sorted(indexer.list_keys()) == sorted(model)
    for ns in ["ns1", "ns2", ""]:
        expected = sorted(k for k, o in model.items() if o.metadata.namespace == ns)
        assert indexer.index_keys(NAMESPACE_INDEX, ns) == expected
    for app in ["web", "db"]:
        expected = sorted(k for k, o in model.items() if o.metadata.labels.get("app") == app)
        assert indexer.index_keys("app", app) == expected
    # Empty index buckets are dropped, so the value list is exactly the live values.
    assert indexer.list_index_func_values("app") == sorted(
        {o.metadata.labels["app"] for o in model.values() if "app" in o.metadata.labels}
    )


def test_unknown_index_and_conflicting_indexer():
    indexer = new_indexer(meta_namespace_key_func)
    with pytest.raises(KeyError, match="does not exist"):
        indexer.by_index("nope", "x")
    with pytest.raises(ValueError, match="indexer conflict"):
        indexer.add_indexers({NAMESPACE_INDEX: by_app})


def test_lister_filters_by_namespace_and_selector_and_says_not_found():
    indexer = new_indexer(meta_namespace_key_func)
    for obj in [pod("a", "p1", app="web"), pod("a", "p2", app="db"), pod("b", "p3", app="web")]:
        indexer.add(obj)
    lister = GenericLister(indexer, GroupResource("", "pods"))
    web = labels.parse("app=web")
    assert sorted(p.metadata.name for p in lister.list(web)) == ["p1", "p3"]
    assert [p.metadata.name for p in lister.by_namespace("a").list(web)] == ["p1"]
    assert lister.by_namespace("b").get("p3").metadata.name == "p3"
    with pytest.raises(errors.StatusError) as e:
        lister.by_namespace("b").get("p1")
    assert e.value.code == 404
    assert str(e.value) == 'pods "p1" not found'
