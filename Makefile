# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Each creates the virtual environment and installs hbnn with pinned versions on first use.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: demo test install clean iverilog

demo: $(STAMP) iverilog
	$(VENV)/bin/hbnn demo

test: $(STAMP) iverilog
	$(VENV)/bin/python -m pytest

# Icarus Verilog, the default simulator of the cocotb benches: from Debian's packages when missing.
iverilog:
	@command -v iverilog >/dev/null || { \
	  command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || \
	    { echo "Icarus Verilog is missing: install the iverilog package (e.g. apt-get install iverilog)"; exit 1; }; \
	  apt-get install -y -q iverilog >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q iverilog >/dev/null; }; }

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf build
