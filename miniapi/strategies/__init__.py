"""Hypothesis strategies for API objects, shared by every package's tests.

`from miniapi.strategies import pods, services, api_objects`. basic.py draws
names, labels, times and quantities; objects.py pods, nodes, services,
slices and workloads; others.py the remaining kinds and api_objects().
"""

from miniapi.strategies.basic import *  # noqa: F403
from miniapi.strategies.objects import *  # noqa: F403
from miniapi.strategies.others import *  # noqa: F403
