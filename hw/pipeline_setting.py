"""The `--pipeline` setting: register levels per popcount tree or adder graph, or `FULL`.

- N >= 0: N register levels spread over every popcount tree (`adders.spread`) or cse adder graph;
  the combining adders, thresholds and argmax stay combinational between the stage registers, and
  stages stall under backpressure (`advance = ~o.valid | o.ready`).
- FULL ("full"): a register after every adder level of the datapath (popcount levels, combining
  levels, the argmax tournament), and a datapath that never stalls (`elastic.admit`: credit-
  counted input, output FIFO), so neither ready nor a clock enable crosses the network.

Kept free of Amaranth so the command line can parse it without loading the HDL.
"""

FULL = "full"


def check_pipeline(pipeline):
    """`pipeline` if it is a setting (module docstring); `ConfigError` otherwise."""
    from hbnn.model.errors import ConfigError

    if pipeline != FULL and (not isinstance(pipeline, int) or isinstance(pipeline, bool) or pipeline < 0):
        raise ConfigError(f"the pipeline setting must be a non-negative integer or {FULL!r}, not {pipeline!r}")
    return pipeline
