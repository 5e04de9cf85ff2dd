"""Which LISTs the watch cache answers and which it delegates to etcd.

Mirrors k8s.io/apiserver/pkg/storage/cacher/delegator/interface.go (ShouldDelegateList,
Result), storage.ValidateListOptions' consistency classes, and cacher.go's
shouldDelegateExactRV / ShouldDelegateContinue. Pure: the decision reads the watch
cache's revisions and nothing else.

The rule that keeps LIST and WATCH consistent: an exact-revision list (resourceVersionMatch
=Exact, or the legacy form `limit` + a non-zero resourceVersion, or a continue token) is
served from the cache exactly when the cache's event ring still reaches back to that
revision — the same test a WATCH from that revision passes or fails with 410. Older
revisions go to etcd, which keeps history until compaction. NotOlderThan and Any lists
are always the cache's (after waitUntilFreshAndBlock). Omitted: consistent reads from the
cache (ConsistentListFromCache): a list without resourceVersion reads etcd, and so does an
exact list at a revision the cache has not reached (upstream's answer when consistent reads
are not supported).
"""

from __future__ import annotations

from dataclasses import dataclass

from miniapiserver.cacher.watch_cache import WatchCache
from miniapiserver.storage.continue_token import decode_continue

EXACT = "Exact"
NOT_OLDER_THAN = "NotOlderThan"
ANY = "Any"  # resourceVersion=0: any state the cache has
QUORUM = "Quorum"  # no resourceVersion: the latest state

CONSISTENT_READ_SUPPORTED = False


@dataclass(frozen=True)
class Result:
    """delegator.Result: go to etcd or not; the revision an exact read is pinned to."""

    should_delegate: bool
    consistent_read: bool = False
    exact_rv: int = 0


def consistency(rv: str, match: str, limit: int, continue_: str) -> str:
    """The read semantics of a list's options (storage.ValidateListOptions)."""
    if match == EXACT:
        return EXACT
    if match == NOT_OLDER_THAN:
        return ANY if rv == "0" else NOT_OLDER_THAN
    if continue_:
        return EXACT
    if rv == "":
        return QUORUM
    if rv == "0":
        return ANY
    if limit > 0:
        return EXACT  # legacy: a paged list at a revision reads exactly that revision
    return NOT_OLDER_THAN


def should_delegate_exact_rv(rv: int, cache: WatchCache) -> Result:
    """shouldDelegateExactRV: the ring must still hold every event after rv."""
    if cache.not_fresh(rv):
        return Result(should_delegate=not CONSISTENT_READ_SUPPORTED, exact_rv=rv)
    return Result(should_delegate=not cache.can_serve_exact(rv), exact_rv=rv)


def should_delegate_list(
    rv: str, match: str, limit: int, continue_: str, prefix: str, cache: WatchCache
) -> Result:
    """ShouldDelegateList for one LIST against one resource's watch cache.

    prefix is the collection key the continue token was issued under; a malformed
    token raises the storage BadRequest error here, as upstream's DecodeContinue does.
    """
    semantic = consistency(rv, match, limit, continue_)
    if semantic == EXACT:
        if continue_:
            _, continue_rv = decode_continue(continue_, prefix)
            if continue_rv < 0:
                return Result(should_delegate=not CONSISTENT_READ_SUPPORTED, consistent_read=True)
            return should_delegate_exact_rv(continue_rv, cache)
        return should_delegate_exact_rv(int(rv), cache)
    if semantic == QUORUM:
        return Result(should_delegate=not CONSISTENT_READ_SUPPORTED, consistent_read=True)
    return Result(should_delegate=False)
