from baton.migrations import run_env
from referral_api.db import load_models, metadata

load_models()
run_env(metadata)
