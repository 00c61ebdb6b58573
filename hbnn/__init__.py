"""hbnn: heterogeneous-bitwidth binarized neural networks, from PyTorch to bit-exact FPGA Verilog.

This package is only the command line (`hbnn.cli`); the work is done by `model`, `hw`, `sim`
and `boards`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hbnn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
