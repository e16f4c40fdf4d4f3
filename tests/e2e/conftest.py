from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    """The whole simulated stack on free ports, as `robot sim` runs it, but without healing:
    these tests stop and start its parts themselves."""
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0, heal=False) as running:
        yield running
