"""Whether the store's requested progress notifications can be trusted.

Mirrors k8s.io/apiserver/pkg/storage/feature/feature_support_checker.go
(endpointSupportsRequestWatchProgress): etcd before 3.4.31, and 3.5.0 up to 3.5.13,
answers a WatchProgressRequest at once with the store's current revision even while
events below it are still queued for the watch (etcd issues 15220 and 17507), so the
answer may run ahead of the events. Omitted: the per-endpoint retry loop with backoff
(the first endpoint's answer decides, and a failed check counts as unsupported).
"""

from __future__ import annotations

import re

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def supports_request_watch_progress(version: str) -> bool:
    """True for etcd >= 3.4.31 outside [3.5.0, 3.5.13); an unparsable version is unsupported."""
    m = _SEMVER.match(version)
    if m is None:
        return False
    ver = tuple(int(x) for x in m.groups())
    if "-" in version[m.end() :][:1]:
        # A pre-release sorts before its release (3.4.31-rc.0 < 3.4.31), as semver says.
        ver = (*ver[:2], ver[2] - 1)
    return not (ver < (3, 4, 31) or (3, 5, 0) <= ver < (3, 5, 13))
