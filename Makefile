# Set-up and everyday commands. Each target creates .venv when missing and installs the project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch comes from this machine's local wheel store; override TORCH_SPEC elsewhere.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed
JOBS ?= auto

.PHONY: install demo test bench lint reproduce clean system-deps profiles docs fidelity docs-figures

$(STAMP): pyproject.toml
	@echo "Installing splitinfer into $(VENV) (first time only: PyTorch and the other dependencies,"
	@echo "about 2-5 minutes from the local wheel store, longer over the network) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "  [1/2] PyTorch ($(TORCH_SPEC))"
	@$(PY) -m pip install -q $(TORCH_SPEC)
	@echo "  [2/2] splitinfer with all extras and the test tools"
	@$(PY) -m pip install -q -e '.[all,dev]'
	@touch $(STAMP)
	@echo "Installed: $(VENV)/bin/splitinfer"

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/splitinfer demo --out demo-output

# Debian's chromium renders the HTML report in a test; the test skips where it cannot be installed.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "note: chromium not installed; the report rendering test will skip"

test: $(STAMP) system-deps
	$(PY) -m pytest -n $(JOBS) --timeout=600 -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Re-measure the 11 shipped cpu-1t profiles with the settings each file records (about 11 min on
# an idle 2-core machine; refuses to start when the machine is busy) and check each
# (splitinfer profile --check).
profiles: $(STAMP)
	$(PY) benchmarks/make_profiles.py

# Every fidelity scenario x planner run for real, one at a time (about 20 min on an idle 2-core
# machine); writes docs/data/fidelity/*.run.json and the table in docs/runtime.md.
fidelity: $(STAMP)
	$(PY) benchmarks/fidelity_table.py --run

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# Write docs/reproductions/<page>.md from docs/reproductions/templates and docs/{energy,traces,dtype}.md
# from docs/templates (quick configurations, simulated numbers; tests/test_reproduction_pages.py
# fails when a committed page is stale), then draw the figures of those three pages.
docs: $(STAMP) docs-figures
	$(VENV)/bin/splitinfer reproduce --write-docs

# The figures of docs/energy.md, docs/traces.md and docs/dtype.md (full configurations, simulated;
# about a minute on an idle 2-core machine). tests/test_reproduction_pages.py checks that every
# figure those pages show is written here.
DOCS_FIGURES := build/docs-figures
docs-figures: $(STAMP)
	$(VENV)/bin/splitinfer reproduce energy-cuts traces-adapt dtype-latency --out $(DOCS_FIGURES)
	cp $(DOCS_FIGURES)/energy-cuts.png docs/energy/energy-cuts.png
	cp $(DOCS_FIGURES)/traces-adapt.png docs/traces-adapt.png
	cp $(DOCS_FIGURES)/dtype-latency.png docs/dtype-latency.png
	$(VENV)/bin/splitinfer simulate docs/examples/energy-phone.yaml --planner exact \
	    --gantt docs/energy/gantt-power.png --gantt-colour power

reproduce: $(STAMP)
	$(VENV)/bin/splitinfer reproduce all --out reproductions
	$(VENV)/bin/splitinfer report reproductions -o reproductions/report.html

clean:
	rm -rf $(VENV) demo-output run-output sweep-output fidelity-runs reproductions .pytest_cache
