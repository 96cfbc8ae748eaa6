from baton.migrations import run_env
from grants_api.db import metadata

run_env(metadata)
