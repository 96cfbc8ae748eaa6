from collections.abc import Iterator

import pytest

from fake_baton import FakeBaton, running


@pytest.fixture
def fake() -> Iterator[FakeBaton]:
    """A fresh fake gateway on a loopback port."""
    with running(FakeBaton()) as baton:
        yield baton
