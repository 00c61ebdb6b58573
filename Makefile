# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Each creates the virtual environment and installs hbnn with pinned versions on first use.
# `make compare-mnist1d` is the README's MNIST-1D comparison (hours on 2 cores).
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: demo test install clean iverilog compare-mnist1d

demo: $(STAMP) iverilog
	$(VENV)/bin/hbnn demo

test: $(STAMP) iverilog
	$(VENV)/bin/python -m pytest

# The bit mixes where they matter: the 64-channel 1-D CNN, 3 seeds per design, every design
# bit-exact on the whole test set in Verilator, built for the ULX3S-85F (README, "MNIST-1D").
compare-mnist1d: $(STAMP) iverilog
	$(VENV)/bin/hbnn compare --dataset mnist1d --net cnn1d --width 64 --ratio-digits 1 \
	  --mixes 1,1.2,1.4,1.6,2,3,1.4:random,1.4:middle-out-column,1@96 --sim verilator --images all

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
