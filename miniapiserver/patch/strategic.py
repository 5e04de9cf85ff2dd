"""Strategic merge patch: apply a patch using per-field merge strategies.

Mirrors k8s.io/apimachinery/pkg/util/strategicpatch/patch.go
(StrategicMergeMapPatch -> mergeMap with MergeParallelList and
IgnoreUnmatchedNulls, as kube-apiserver's patch handler calls it): maps merge
key by key and null deletes; a list whose field is tagged `patchStrategy:merge`
merges its items by the `patchMergeKey` (or, for scalars, as a set); any other
list is replaced. Directives: `$patch: replace|delete` on maps and list items,
`$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.
Omitted: creating patches (CreateTwoWayMergePatch / ThreeWay: kubectl does that).
"""

from __future__ import annotations

import copy
from typing import Any

from miniapiserver.patch.jsonpatch import PatchError
from miniapiserver.patch.patchmeta import PatchSchema

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"


def strategic_merge_patch(original: dict, patch: dict, schema: PatchSchema) -> dict:
    """Apply patch to a deep copy of original (inputs are left untouched)."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch format is not supported")
    return merge_map(copy.deepcopy(original), copy.deepcopy(patch), schema)


def merge_map(original: dict | None, patch: dict, schema: PatchSchema) -> dict:
    if DIRECTIVE in patch:
        return _map_directive(patch)
    original = {} if original is None else original
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in list(patch.items()):
        is_delete_list = key.startswith(DELETE_PRIMITIVE)
        if is_delete_list:
            key = _extract_key(key, DELETE_PRIMITIVE)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or type(original[key]) is not type(value):
            if not is_delete_list:
                _put(original, key, _discard_nulls(value))
            continue
        if isinstance(value, dict):
            child, strategy, _ = schema.lookup(key)
            if strategy == "replace":
                original[key] = value
            else:
                original[key] = merge_map(original[key], value, child)
        elif isinstance(value, list):
            original[key] = _merge_list_field(original[key], value, key, schema, is_delete_list)
        else:
            _put(original, key, value)
    return original


def _map_directive(patch: dict) -> dict:
    kind = patch[DIRECTIVE]
    if kind == "replace":
        return {k: v for k, v in patch.items() if k != DIRECTIVE}
    if kind == "delete":
        return {}
    raise PatchError(f"unknown patch type: {kind} in map: {patch}")


def _put(target: dict, key: str, value: Any) -> None:
    """Set target[key] to value without its directives (a bare directive drops the key)."""
    cleaned, keep = remove_directives(value)
    if keep:
        target[key] = cleaned
    else:
        target.pop(key, None)


def remove_directives(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        out = {}
        for k, v in value.items():
            cleaned, keep = remove_directives(v)
            if keep:
                out[k] = cleaned
        return out, True
    if isinstance(value, list):
        return [c for c, keep in map(remove_directives, value) if keep], True
    return value, True


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        if prefix == DELETE_PRIMITIVE:
            raise PatchError("invalid patch format of primitive list")
        raise PatchError("invalid patch format of setElementOrder list")
    return rest


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise PatchError("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PRIMITIVE, SET_ORDER)):
            continue
        if key not in keep:
            raise PatchError("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_list_field(
    original: list, patch: list, key: str, schema: PatchSchema, is_delete_list: bool
) -> list:
    child, strategy, merge_key = schema.lookup(key)
    if strategy == "merge" or is_delete_list:
        return merge_list(original, patch, child, merge_key, is_delete_list)
    return remove_directives(patch)[0]


def _element_kind(*lists: list) -> type | None:
    kind: type | None = None
    for lst in lists:
        for item in lst:
            if isinstance(item, list):
                raise PatchError("lists of lists are not supported")
            if kind is None:
                kind = type(item)
            elif kind is not type(item):
                raise PatchError(f"list element types are not identical: {list(lists)}")
    return kind


def merge_list(
    original: list, patch: list, schema: PatchSchema, merge_key: str, is_delete_list: bool
) -> list:
    """mergeSlice: merge by key (maps) or as a set (scalars), then restore a stable order."""
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind is not dict:
        if is_delete_list:
            return [v for v in original if v not in patch]
        merged = list(original)
        for v in patch:
            if v not in merged:
                merged.append(v)
        key = ""
    else:
        if not merge_key:
            raise PatchError("cannot merge lists without merge key for " + schema.name)
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, schema)
        key = merge_key
    in_patch, server_only = _partition(merged, patch, key)
    return normalize_element_order(in_patch, server_only, patch, original, key)


def _special_elements(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """Handle `{$patch: delete}` and `{$patch: replace}` items of a merging list."""
    plain, replace = [], False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
        elif item[DIRECTIVE] == "delete":
            if merge_key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
            original = [o for o in original if o.get(merge_key) != item[merge_key]]
        elif item[DIRECTIVE] == "replace":
            replace = True
        elif item[DIRECTIVE] == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {item[DIRECTIVE]} in map: {item}")
    return (plain, []) if replace else (original, plain)


def _merge_by_key(original: list, patch: list, merge_key: str, schema: PatchSchema) -> list:
    for item in patch:
        if merge_key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
        for i, existing in enumerate(original):
            if not isinstance(existing, dict):
                raise PatchError(f"value for key {i} is not a map")
            if existing.get(merge_key) == item[merge_key]:
                original[i] = merge_map(existing, item, schema)
                break
        else:
            original.append(item)
    return original


def _value(item: Any, key: str) -> Any:
    return item.get(key) if key and isinstance(item, dict) else item


def _index(items: list, item: Any, key: str) -> int:
    wanted = _value(item, key)
    for i, v in enumerate(items):
        if _value(v, key) == wanted:
            return i
    return -1


def _partition(merged: list, order: list, key: str) -> tuple[list, list]:
    """Split merged items into those named by order and the server-only rest."""
    if key:
        for item in merged:
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
    wanted = [_value(v, key) for v in order]
    in_order = [v for v in merged if _value(v, key) in wanted]
    rest = [v for v in merged if _value(v, key) not in wanted]
    return in_order, rest


def _sort_by(items: list, order: list, key: str) -> list:
    known = [v for v in items if _index(order, v, key) >= 0]
    known.sort(key=lambda v: _index(order, v, key))
    # Items the order does not name keep their place after the ones it does (stable).
    unknown = [v for v in items if _index(order, v, key) < 0]
    return known + unknown


def normalize_element_order(
    patch_items: list, server_only: list, patch_order: list, server_order: list, key: str
) -> list:
    """Order patch items as the patch does, server-only items as the live list does, interleaved."""
    deleted: list = []
    if key:
        deleted = [v for v in patch_items if v.get(DIRECTIVE) == "delete"]
        patch_items = [v for v in patch_items if v.get(DIRECTIVE) != "delete"]
    patch_items = _sort_by(patch_items, patch_order, key) + deleted
    server_only = _sort_by(server_only, server_order, key)
    out, i, j = [], 0, 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li = _index(server_order, server_only[i], key)
            ri = _index(server_order, patch_items[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def _merge_ordered_lists(original: dict, patch: dict, schema: PatchSchema) -> None:
    """Process `$setElementOrder/<list>` with its list: merge, then impose the order."""
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise PatchError("invalid patch format of setElementOrder list")
        field = _extract_key(key, SET_ORDER)
        _, _, merge_key = schema.lookup(field)
        found_original, found_patch = field in original, field in patch
        server_order = list(original.get(field) or [])
        if found_patch and not isinstance(patch[field], list):
            raise PatchError("invalid patch format of setElementOrder list")
        if found_original and found_patch:
            merged = _merge_list_field(original[field], patch[field], field, schema, False)
        elif found_patch:
            merged = remove_directives(patch[field])[0]
        elif found_original:
            merged = original[field]
        else:
            continue
        in_order, rest = _partition(merged, order, merge_key)
        original[field] = normalize_element_order(in_order, rest, order, server_order, merge_key)
        patch.pop(field, None)
