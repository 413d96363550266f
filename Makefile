# Everything a fresh machine needs: a virtualenv in .venv with the project.
# `make demo` installs what the demo needs and runs it; `make test` adds the
# test tools and runs the suite.  Recipe lines start with @: make shows what
# they say, not the commands themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast bench soak clean constraints

# The project and its runtime dependencies only, as a plain install: the
# demo needs no editable one (whose every mode makes setuptools print a
# warning box).  `make demo` runs the tree's own code (python -m sync from
# here), so an edit shows without reinstalling.
$(BIN)/.installed: pyproject.toml
	@echo "installing align-sync into $(VENV) (first time only)"
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -c deploy/constraints.txt .
	@touch $@

# The test tools on top (pytest, responses, hypothesis, ...), and the project
# editable, so the suite's subprocesses run the tree's code.  Compiled once
# here: a machine that sets PYTHONDONTWRITEBYTECODE would otherwise compile
# every module of ours on every run (0.1 s a command).
$(BIN)/.installed-test: $(BIN)/.installed
	@echo "installing the test tools into $(VENV) (first time only)"
	@$(BIN)/pip install --quiet -c deploy/constraints.txt -e '.[test]'
	@$(BIN)/python -m compileall -q sync connectors
	@touch $@

# The demo's metric source, a SQLite warehouse, is built from config/demo/warehouse.csv first.
demo: $(BIN)/.installed
	@$(BIN)/python config/demo/warehouse.py > /dev/null
	@$(BIN)/python -m sync run --once --config config/demo.yaml

# pytest exits 5 when it collects nothing; that is not a failure of ours.
test: $(BIN)/.installed-test
	@$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# The suite without the kill and signal storms: seconds, for the edit-test loop.
test-fast: $(BIN)/.installed-test
	@$(BIN)/python -m pytest -m "not slow"

bench: $(BIN)/.installed-test
	@$(BIN)/python tests/bench/bench_core.py
	@$(BIN)/python tests/bench/bench_jira.py
	@$(BIN)/python tests/bench/bench_sheets.py
	@$(BIN)/python tests/bench/bench_jira_sheets.py
	@$(BIN)/python tests/bench/bench_e2e.py
	@$(BIN)/python tests/bench/bench_latency.py
	@$(BIN)/python tests/bench/bench_side_by_side.py
	@$(BIN)/python tests/bench/bench_redact.py

soak: $(BIN)/.installed-test
	@$(BIN)/python tests/bench/soak.py 60 0.05

# The pinned runtime set, from a fresh virtualenv holding the project alone.
constraints:
	rm -rf .venv-pin
	$(PY) -m venv .venv-pin
	.venv-pin/bin/pip install --quiet .
	{ sed -n '1,3p' deploy/constraints.txt; .venv-pin/bin/pip freeze --exclude align-sync; } > deploy/constraints.new
	mv deploy/constraints.new deploy/constraints.txt
	rm -rf .venv-pin

clean:
	rm -rf $(VENV) out .pytest_cache
