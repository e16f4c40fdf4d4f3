from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.stack import SimStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimStack]:
    """The whole simulated stack on free ports, as `robot sim` runs it."""
    with SimStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running
