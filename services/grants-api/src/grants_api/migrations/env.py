from baton.migrations import run_env
from grants_api.db import load_models, metadata

load_models()
run_env(metadata)
