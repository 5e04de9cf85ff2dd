"""meta/v1: metadata, Status, WatchEvent, Table, discovery documents, RFC 3339 time.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1. Import everything from here:
`from miniapi.meta.v1 import ObjectMeta, Status, WatchEvent`.
"""

from miniapi.meta.v1.discovery import *  # noqa: F403
from miniapi.meta.v1.status import *  # noqa: F403
from miniapi.meta.v1.table import *  # noqa: F403
from miniapi.meta.v1.time import *  # noqa: F403
from miniapi.meta.v1.types import *  # noqa: F403
from miniapi.meta.v1.watch import *  # noqa: F403
