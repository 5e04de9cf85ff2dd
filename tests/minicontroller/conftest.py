"""Fixtures for minicontroller tests: the miniclient folder's etcd + miniapiserver.

Loaded from tests/miniclient/conftest.py by path so both folders start the
server the same way (neither test folder is a package).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "miniclient_test_fixtures", Path(__file__).resolve().parents[1] / "miniclient" / "conftest.py"
)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

apiserver = _fixtures.apiserver
ROOT = _fixtures.ROOT
