from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    """The whole simulated stack on free ports, as `robot sim` runs it."""
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running
