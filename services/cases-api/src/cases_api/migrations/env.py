from baton.migrations import run_env
from cases_api.db import load_models, metadata

load_models()
run_env(metadata)
