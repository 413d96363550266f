# Everything a fresh machine needs: a virtualenv in .venv with the project.
# `make demo` installs what the demo needs and runs it; `make test` adds the
# test tools and runs the suite.  Recipe lines start with @: make shows what
# they say, not the commands themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench soak clean

# The project and its runtime dependencies only.  Compiled once here: a
# machine that sets PYTHONDONTWRITEBYTECODE would otherwise compile every
# module of ours on every run (0.1 s a command).
$(BIN)/.installed: pyproject.toml
	@echo "installing align-sync into $(VENV) (first time only)"
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e .
	@$(BIN)/python -m compileall -q sync connectors
	@touch $@

# The test tools on top (pytest, responses, hypothesis, ...).
$(BIN)/.installed-test: $(BIN)/.installed
	@echo "installing the test tools into $(VENV) (first time only)"
	@$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/.installed
	@$(BIN)/align-sync run --once --config config/demo.yaml

# pytest exits 5 when it collects nothing; that is not a failure of ours.
test: $(BIN)/.installed-test
	@$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

bench: $(BIN)/.installed-test
	@$(BIN)/python tests/bench/bench_core.py
	@$(BIN)/python tests/bench/bench_jira.py
	@$(BIN)/python tests/bench/bench_sheets.py
	@$(BIN)/python tests/bench/bench_jira_sheets.py
	@$(BIN)/python tests/bench/bench_e2e.py

soak: $(BIN)/.installed-test
	@$(BIN)/python tests/bench/soak.py 60 0.05

clean:
	rm -rf $(VENV) out .pytest_cache
