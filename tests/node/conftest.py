"""Markers for the node/client suites (registered here to keep pyproject untouched)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a load test (runs in `make test`, kept under a minute)")
