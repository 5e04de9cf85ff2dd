"""Shared test policy: tests that need root, a kernel feature or a Debian tool.

Mark them `@pytest.mark.root`, `@pytest.mark.tool("runc", "etcdctl")` or
`@pytest.mark.kernel("overlay")`. Outside CI they skip with the reason. Under
`CI=true` nothing may skip: every skip (marker-driven or not) fails the run,
because a green CI that skipped the kernel tests would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _kernel_has(feature: str) -> str | None:
    """None when the feature is usable here, else why not."""
    if feature == "overlay":
        ok = "overlay" in Path("/proc/filesystems").read_text()
        return None if ok else "the kernel has no overlayfs"
    if feature == "netns":
        return None if Path("/proc/self/ns/net").exists() else "no network namespaces"
    if feature == "cgroup":
        return None if Path("/sys/fs/cgroup").is_dir() else "no cgroup filesystem"
    return f"unknown kernel feature {feature!r}"


def _missing_reason(item: pytest.Item) -> str | None:
    if item.get_closest_marker("root") and os.geteuid() != 0:
        return "needs root"
    for mark in item.iter_markers("tool"):
        for tool in mark.args:
            if shutil.which(tool) is None:
                return f"needs the Debian tool {tool!r} on PATH (make setup installs it)"
    for mark in item.iter_markers("kernel"):
        for feature in mark.args:
            reason = _kernel_has(feature)
            if reason:
                return reason
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_reason(item)
    if reason:
        pytest.skip(reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; a skip in CI is a failure")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
