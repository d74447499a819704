# The two commands a newcomer runs: `make run` and `make test`.
# Both set everything up first: the virtualenv .venv/ with the project, its
# `server` and `dev` extras and their pinned versions (constraints.txt), and buf
# from npm for the proto lint.
# The gRPC code under keysvc/v1 is committed; `make gen` regenerates it and
# tests/test_generated_code.py fails when it is stale (docs/generated-code.md).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BUF := node_modules/.bin/buf
DATA_DIR ?= var

.PHONY: run test demo setup lint gen bench mutate lock clean

# keysvc makes the data folder itself, owner-only (docs/persistence.md). The status
# lists are served on 127.0.0.1:50052, the address the development keys carry
# (docs/status-lists.md).
run: setup
	$(BIN)/keysvc serve --data-dir $(DATA_DIR) --status-listen 127.0.0.1:50052

test: setup lint
	$(BIN)/pytest

# The whole story in the terminal, with the real programs, on a server of its own
# in var/demo (wiped at start; ./var of `make run` is left alone), stopped at the end.
demo: setup
	$(BIN)/python -m keysvc.demo

setup: $(INSTALLED) $(BUF)

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[server,dev]'
	touch $@

# `npm install --no-save` rather than `npm ci`: it installs the locked versions
# (with their integrity hashes) for this platform only; `npm ci` also insists on
# every other platform's optional buf binary being resolvable in the registry.
$(BUF): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BUF) lint
	$(BIN)/hadolint Dockerfile

gen: $(INSTALLED)
	$(BIN)/python protos/generate.py

# Every script runs even when one misses its goal (exit 1); `make bench` then fails.
# `make bench BENCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:5432/test` also
# measures mail and start-up on PostgreSQL (scratch databases keysvc_bench_<hex>).
# B5 (bench_growth) runs last: after its gigabytes of loading the disk and PostgreSQL
# stay busy writing for minutes: B2 run after it took about a quarter longer.
bench: setup
	mkdir -p bench/results
	status=0; \
	$(BIN)/python bench/bench_signing.py --json bench/results/signing.json || status=1; \
	$(BIN)/python bench/bench_status_list.py --json bench/results/status_list.json || status=1; \
	$(BIN)/python bench/bench_status_http.py --json bench/results/status_http.json || status=1; \
	$(BIN)/python bench/bench_mail.py --json bench/results/mail.json \
		$(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)') || status=1; \
	$(BIN)/python bench/bench_startup.py --json bench/results/startup.json \
		$(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)') || status=1; \
	$(BIN)/python bench/bench_issuance.py --json bench/results/issuance.json \
		$(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)') || status=1; \
	$(BIN)/python bench/bench_release.py --json bench/results/release.json \
		$(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)') || status=1; \
	$(BIN)/python bench/bench_maildir.py --json bench/results/maildir.json || status=1; \
	$(BIN)/python bench/bench_overload.py --json bench/results/overload.json || status=1; \
	$(BIN)/python bench/bench_growth.py --json bench/results/growth.json \
		$(if $(BENCH_POSTGRES),--postgres '$(BENCH_POSTGRES)') || status=1; \
	exit $$status

# Mutation testing of the pure cores (signing, the calendar, the domain): minutes,
# so not part of `make test`. Incremental: mutants already judged are kept in
# mutants/ until their code or tests change. docs/testing.md has the scores.
mutate: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[server,dev,mutation]'
	$(BIN)/mutmut run --max-children 2 > /dev/null || true
	$(BIN)/python tests/mutation_scores.py

# Re-pins constraints.txt to what the virtualenv holds now (after changing pyproject.toml).
lock: $(INSTALLED)
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
