import pytest

pytest_plugins = ["baton.testing"]


def pytest_configure(config: pytest.Config) -> None:
    # Declared beside the hook that gives the marker its meaning.
    config.addinivalue_line(
        "markers", "hygiene: reads what the whole session left behind; runs after every other test"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: hygiene tests last, in their own order; everything else untouched.
    items.sort(key=lambda item: item.get_closest_marker("hygiene") is not None)
