"""core/v1: Pod, Node, Namespace, Service, ConfigMap, Secret, ServiceAccount, Event, Binding,
LimitRange, ResourceQuota.

Mirrors k8s.io/api/core/v1 (types.go), split into one module per kind.
Import from here: `from miniapi.core.v1 import Pod, PodSpec, Container`.
"""

from miniapi.core.v1.affinity import *  # noqa: F403
from miniapi.core.v1.binding import *  # noqa: F403
from miniapi.core.v1.common import *  # noqa: F403
from miniapi.core.v1.config import *  # noqa: F403
from miniapi.core.v1.container import *  # noqa: F403
from miniapi.core.v1.endpoints import *  # noqa: F403
from miniapi.core.v1.event import *  # noqa: F403
from miniapi.core.v1.limitrange import *  # noqa: F403
from miniapi.core.v1.namespace import *  # noqa: F403
from miniapi.core.v1.node import *  # noqa: F403
from miniapi.core.v1.pod import *  # noqa: F403
from miniapi.core.v1.resourcequota import *  # noqa: F403
from miniapi.core.v1.service import *  # noqa: F403
from miniapi.core.v1.serviceaccount import *  # noqa: F403
from miniapi.core.v1.volume import *  # noqa: F403
