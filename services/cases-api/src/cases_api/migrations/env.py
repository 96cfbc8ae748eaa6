from baton.migrations import run_env
from cases_api.db import metadata

run_env(metadata)
