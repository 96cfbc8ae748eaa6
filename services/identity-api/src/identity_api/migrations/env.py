from baton.migrations import run_env
from identity_api.db import metadata

run_env(metadata)
