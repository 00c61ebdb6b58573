"""hbnn: heterogeneous-bitwidth binarized neural networks, from PyTorch to bit-exact FPGA Verilog.

The packages, each one kind of knowledge, lower layers first:

- `hbnn.model`: training in PyTorch, export, the golden model, and the layout file that every
  other layer reads (`hbnn.model.layout`, numpy only);
- `hbnn.hw`: Amaranth gateware generated from layouts (never torch);
- `hbnn.sim`: the generated hardware in simulators, against the golden model;
- `hbnn.boards`: FPGA boards, the yosys/nextpnr flow, its reports and energy estimates;
- this package: the command line (`cli`), the jobs that span every layer (`compare`), and what
  every layer shares: files written whole (`files`) and the external programs (`tools`).

Importing hbnn pins torch's CPU kernels, so training gives the same bits on every x86-64 machine
(`hbnn.model.reproducible`); it imports nothing heavy.
"""

from importlib.metadata import PackageNotFoundError, version

from hbnn.model.reproducible import pin_cpu_kernels

pin_cpu_kernels()   # before any hbnn code runs torch: the libraries read it at their first kernel

try:
    __version__ = version("hbnn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
