"""`python -m referral_api init-keys`: the first master key, never a replacement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from baton.stack.databases import ServiceDatabase


def test_init_keys_creates_the_first_master_key_only_once(
    tmp_path: Path, service_databases: dict[str, ServiceDatabase]
) -> None:
    env = {
        **os.environ,
        "REFERRALS_DATABASE_URL": service_databases["referrals"].runtime_url,
        "REFERRALS_ENVIRONMENT": "production",
        "REFERRALS_MASTER_KEYS_DIR": str(tmp_path / "master"),
    }

    def init_keys() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "referral_api", "init-keys"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        created: list[str] = json.loads(result.stdout.strip().splitlines()[-1])["created"]
        return created

    first = init_keys()
    assert len(first) == 1
    key_file = tmp_path / "master" / f"{first[0]}.key"
    content = key_file.read_bytes()
    assert init_keys() == []
    assert key_file.read_bytes() == content
    assert sorted(p.name for p in (tmp_path / "master").glob("*.key")) == [key_file.name]
