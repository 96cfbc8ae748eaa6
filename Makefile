# Baton: `make run` starts everything, `make test` checks everything. Needs only python3.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(VENV)/bin/python

.PHONY: install run test lint format typecheck pytest clean compose-secrets token bench

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Installs exactly what uv.lock pins; `--frozen` refuses to touch the lock.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

install: $(VENV)/.synced

run: install
	$(VENV)/bin/python -m baton.stack run

# An access token for a demo persona of a running `make run`: make -s token PERSONA=caseworker
PERSONA ?= caseworker
token: install
	@$(VENV)/bin/python -m baton.stack token $(PERSONA)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Test folders share file names (test_app.py in each service): one mypy run per folder.
typecheck: install
	$(VENV)/bin/mypy shared/src services/*/src clients/python/src tests bench conftest.py
	@for dir in shared/tests services/*/tests clients/python/tests; do echo "mypy $$dir"; $(VENV)/bin/mypy $$dir || exit 1; done

pytest: install
	$(VENV)/bin/pytest

test: lint typecheck pytest

# The whole system under load (README, "Performance"); BENCH_SCALE=10000|100000|1000000.
bench: install
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# docker-compose's secrets (passwords, database URLs) into deploy/docker/secrets/.
compose-secrets: install
	$(VENV)/bin/python -m baton.stack compose-secrets

# Every database into a new folder, and back (README, "Backups"); keys are NOT included:
#   make backup BACKUP=/mnt/backups/baton-2026-11-25    make restore BACKUP=... [FORCE=1]
.PHONY: backup restore
backup: install
	@test -n "$(BACKUP)" || { echo "usage: make backup BACKUP=new-folder"; exit 2; }
	$(VENV)/bin/python -m baton.stack backup --output "$(BACKUP)"

restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backup-folder [FORCE=1]"; exit 2; }
	$(VENV)/bin/python -m baton.stack restore --input "$(BACKUP)" $(if $(FORCE),--force)
