# Everything a fresh machine needs: a virtualenv in .venv with the project
# and its test tools.  `make demo` runs the bundled demo, `make test` the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast bench soak lint-deploy clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# Compiled once here: a machine that sets PYTHONDONTWRITEBYTECODE would
	# otherwise compile every module of ours on every run (0.1 s a command).
	$(BIN)/python -m compileall -q sync connectors
	touch $@

demo: $(BIN)/.installed
	$(BIN)/align-sync run --once --config config/demo.yaml

test: $(BIN)/.installed
	# pytest exits 5 when it collects nothing; that is not a failure of ours.
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# The suite without the kill and signal storms: seconds, for the edit-test loop.
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

bench: $(BIN)/.installed
	$(BIN)/python tests/bench/bench_core.py
	$(BIN)/python tests/bench/bench_jira.py
	$(BIN)/python tests/bench/bench_sheets.py
	$(BIN)/python tests/bench/bench_jira_sheets.py
	$(BIN)/python tests/bench/bench_e2e.py

soak: $(BIN)/.installed
	$(BIN)/python tests/bench/soak.py 60 0.05

clean:
	rm -rf $(VENV) out .pytest_cache
