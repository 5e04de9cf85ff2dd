"""Label and field selectors of a LIST/WATCH/DELETECOLLECTION as a SelectionPredicate.

Mirrors k8s.io/apiserver/pkg/storage/selection_predicate.go (SelectionPredicate
with GetAttrs) and the strategies' GetAttrs / ToSelectableFields
(pkg/registry/core/pod/strategy.go and friends): labels come from metadata,
fields from the per-kind selectable fields. Bad selectors are 400s.
"""

from __future__ import annotations

from typing import Any

from miniapi import errors, fields, labels, scheme
from miniapi.runtime import ResourceInfo
from miniapiserver.registry.triggers import index_fields, indexed_trigger
from miniapiserver.storage.interfaces import Obj, SelectionPredicate


def attrs_func(info: ResourceInfo):  # type: ignore[no-untyped-def]
    """The resource's GetAttrs with every selectable field (the watch cache runs it once)."""
    return _attrs_for(info, True)


def _attrs_for(info: ResourceInfo, with_fields: bool):  # type: ignore[no-untyped-def]
    kind, namespaced = info.gvk.kind, info.namespaced

    def get_attrs(obj: Obj) -> tuple[dict[str, str], dict[str, str]]:
        obj_labels = obj.get("metadata", {}).get("labels") or {}
        if not with_fields:
            return obj_labels, {}
        if getattr(info, "crd_name", ""):
            # A custom resource stays unstructured: the default name/namespace fields.
            meta = obj.get("metadata", {})
            out = {"metadata.name": meta.get("name", "")}
            return obj_labels, out | ({"metadata.namespace": meta.get("namespace", "")}
                                      if namespaced else {})  # fmt: skip
        # Selectable fields are read from the typed object, as the strategies' GetAttrs do.
        return obj_labels, fields.field_set(kind, scheme.decode(obj), namespaced)

    return get_attrs


def parse_field_selector(info: ResourceInfo, text: str) -> fields.Selector:
    """ParseAndTransformSelector with the kind's field label conversion (400 if unsupported)."""
    gvk = info.gvk

    def convert(label: str, value: str) -> tuple[str, str]:
        return fields.convert_field_label(gvk.group, gvk.version, gvk.kind, label, value)

    try:
        return fields.parse_and_transform_selector(text, convert)
    except fields.FieldSelectorError as e:
        raise errors.new_bad_request(str(e)) from None


def predicate_from_query(info: ResourceInfo, query: Any, limit: int) -> SelectionPredicate:
    label_text = query.get("labelSelector", "")
    field_text = query.get("fieldSelector", "")
    label_sel = field_sel = fsel = None
    if label_text:
        try:
            sel = labels.parse(label_text)
        except labels.SelectorError as e:
            raise errors.new_bad_request(str(e)) from None
        label_sel = None if sel.empty() else sel.matches
    if field_text:
        fsel = parse_field_selector(info, field_text)
        field_sel = None if fsel.empty() else fsel.matches
    get_attrs = _attrs_for(info, field_sel is not None)
    pred = SelectionPredicate(
        label=label_sel, field=field_sel, get_attrs=get_attrs, limit=limit,
        field_selector=fsel if field_sel is not None else None, index_fields=index_fields(info),
    )  # fmt: skip
    trigger, index = indexed_trigger(info), pred.matcher_index()
    if trigger is not None and index is not None and index[0] == trigger.index_name:
        # A kubelet's spec.nodeName=<node> list read from etcd tests every pod: its node
        # name is read off the stored object first, so only its own pods are decoded.
        pred.prefilter = (trigger.indexer_func, index[1])
    return pred
