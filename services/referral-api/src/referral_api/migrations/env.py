from baton.migrations import run_env
from referral_api.db import metadata

run_env(metadata)
