# pai-autopilot — the two commands:
#   make demo   set up, then the whole story on localcloud, narrated (about a minute; exit 1 if a part did not happen)
#   make test   set up, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install tools lint bench clean docs soak soak-fuzz

demo: $(STAMP)
	$(BIN)/pai-autopilot demo

test: $(STAMP) tools
	$(BIN)/pytest

install: $(STAMP)

# The virtualenv, rebuilt whenever the dependency pins change.
$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Serverless Devs (`s preview` renders s.yaml in the tests), installed into .tools/.
tools:
	bash scripts/install-tools.sh
	sh scripts/install-browser.sh

lint: $(STAMP)
	$(BIN)/ruff check shared localcloud functions tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py

# The long reliability soak (not part of `make test`): 1,000+ events delivered three times and
# reordered, 20 % faults on every service, a crash after every side effect. Figures: bench/RESULTS.md.
soak: $(STAMP)
	$(BIN)/python bench/soak.py

# Generated docs: the configuration reference (from the config Structs) and the RAM policies
# (from the SDK calls in shared/ and functions/). tests/unit/test_docs_*.py fail when stale.
docs: $(STAMP)
	$(BIN)/python scripts/gen_config_reference.py --write
	$(BIN)/python scripts/ram_policy.py --write
	$(BIN)/python scripts/ram_policy.py --check

soak-fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_soak.py --examples 10000

clean:
	rm -rf $(VENV) .tools .build .pytest_cache
