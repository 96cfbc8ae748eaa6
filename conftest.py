pytest_plugins = ["baton.testing"]
