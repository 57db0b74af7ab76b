# Two commands matter: `make demo` (set up, index the demo catalog, start the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= data/demo-catalog
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: install demo demo-data test test-slow lint bench bench-load audit clean

# torch is pinned to the CPU build in the same pip command: unpinned, pip pulls multi-GB CUDA wheels.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[dev,imagebind]"
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps "imagebind-unofficial==0.1.1"
	touch $@

install: $(BIN)/.installed

demo-data: install
	$(BIN)/lookalike demo-data $(DEMO_DIR)

demo: demo-data
	$(BIN)/lookalike index $(DEMO_DIR)
	$(BIN)/lookalike search $(DEMO_DIR)/Footwear/white-plimsolls-2.png --top-k 5
	$(BIN)/lookalike search --text "yellow shoes" --top-k 3
	$(BIN)/lookalike search $(DEMO_DIR)/Hoodies/white-hoodie-1.png --region whole --in-stock --families --top-k 5
	$(BIN)/lookalike ui --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/text_search.py
	$(BIN)/python benchmarks/search_scale.py

bench-load: install
	$(BIN)/python benchmarks/load.py

# pip-audit in its own venv (it needs packages the project does not); --strict fails when a package
# cannot be looked up, so an audit that checked nothing is never green.
audit: install
	$(PYTHON) -m venv /tmp/lookalike-audit
	/tmp/lookalike-audit/bin/python -m pip install -q --disable-pip-version-check "pip-audit==2.10.1"
	/tmp/lookalike-audit/bin/pip-audit --strict --skip-editable --path $(VENV)/lib/python3.11/site-packages

clean:
	rm -rf $(VENV) data .pytest_cache
