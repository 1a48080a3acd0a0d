# Two commands matter: `make serve` and `make test`. Both build the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= $(firstword $(wildcard mirror.toml) deploy/mirror.example.toml)

.PHONY: serve test lint typecheck unit venv clean system-deps catalogs docs check

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp depends on pyproject.toml, so a changed dependency list reinstalls.
$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@ $(VENV)/.installed-runtime

venv: $(VENV)/.installed-runtime

serve: $(VENV)/.installed-runtime
	$(BIN)/mirror serve --config $(CONFIG)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MAKE) docs

# The manual: the configuration page generated from the settings table, then the whole site
# built into site/ (git-ignored), failing on any broken link or anchor.
docs: $(VENV)/.installed-test
	$(BIN)/python scripts/settings_page.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Real chromium, redis-server, nginx and wrk: installed when missing (as root), never mocked.
system-deps:
	scripts/system-deps.sh

unit: $(VENV)/.installed-test system-deps bench-data
	$(BIN)/pytest -q

test: lint typecheck unit

# The fast tier: no root, daemons, browser, benchmark pages or network (tests/support/tiers.py),
# on two processes (pytest-xdist; CHECK_JOBS=0 runs it in one).
FAST := not browser and not daemons and not bench and not install
CHECK_JOBS ?= 2
check: $(VENV)/.installed-test
	MIRROR_TEST_TIER=check $(BIN)/pytest -q -n $(CHECK_JOBS) -m "$(FAST)"

# After changing interface text: refresh messages.pot and merge it into every catalog.
catalogs: $(VENV)/.installed-runtime
	$(BIN)/python -m mirror.render.i18n

# The benchmark pages (publishers' copyright, never in the repository) where the tests and
# bench/ read them: fetched from the upstream repository at a pinned commit when absent.
MIRROR_BENCH_DATA ?= ../shared/bench/extraction
BENCH_DATA_COMMIT := 4a3bc979f76c0df73cb95fe272e2fc1b96f9f010
BENCH_DATA_URL ?= https://github.com/scrapinghub/article-extraction-benchmark/archive/$(BENCH_DATA_COMMIT).tar.gz

# The second development set: mozilla/readability's test pages (Apache-2.0), same rule.
MIRROR_BENCH_READABILITY ?= ../shared/bench/readability
BENCH_READABILITY_COMMIT := ab4027a8b37669745016869a37a504727992b2ba
BENCH_READABILITY_URL ?= https://github.com/mozilla/readability/archive/$(BENCH_READABILITY_COMMIT).tar.gz

.PHONY: bench-data
bench-data:
	$(PYTHON) scripts/bench-data.py $(MIRROR_BENCH_DATA) $(BENCH_DATA_URL)
	$(PYTHON) scripts/bench-readability.py $(MIRROR_BENCH_READABILITY) $(BENCH_READABILITY_URL)

# The real EasyList and EasyPrivacy for bench/transform.py --easylist, offline: Debian's
# webext-ublock-origin-firefox package ships both (assets/thirdparties/easylist/).
MIRROR_BENCH_LISTS ?= bench/lists

.PHONY: bench-lists
bench-lists:
	scripts/bench-lists.sh $(MIRROR_BENCH_LISTS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site
