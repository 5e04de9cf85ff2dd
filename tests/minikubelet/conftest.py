"""Fixtures for minikubelet: one etcd + miniapiserver for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.minikubelet.kubelet_harness import Cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        yield c
    finally:
        c.stop()
