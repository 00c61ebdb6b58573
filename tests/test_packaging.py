"""hbnn installs under its own name: every package as hbnn.*, none as a top-level `model` or `hw`
that would collide with a user's own packages (pip install into a separate folder, imported
from outside the repository)."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_installed_under_hbnn():
    """pyproject's package list names every folder with an __init__.py, so none is left out."""
    setuptools = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for package, folder in setuptools["package-dir"].items():
        root = REPOSITORY / folder
        found |= {".".join((package,) + init.parent.relative_to(root).parts) for init in root.rglob("__init__.py")}
    assert sorted(setuptools["packages"]) == sorted(found)


def test_a_wheel_installs_hbnn_and_no_top_level_model(tmp_path):
    # build from a copy: setuptools writes build/ and *.egg-info into the folder it builds
    source = tmp_path / "source"
    shutil.copytree(REPOSITORY, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info",
                                                                      "__pycache__", ".pytest_cache"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-cache-dir", "--target", str(target), str(source)],
                   check=True, capture_output=True, cwd=tmp_path)
    installed = sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info"))
    assert installed in (["hbnn"], ["bin", "hbnn"])          # bin: the `hbnn` console script
    probe = """
import importlib, pkgutil, sys
import hbnn
assert hbnn.__file__.startswith(sys.argv[1]), hbnn.__file__
modules = [m.name for m in pkgutil.walk_packages(hbnn.__path__, "hbnn.")]
for name in modules:
    # __main__ runs the command line; cocotb_stream is a cocotb test module (imports in a simulator)
    if name not in ("hbnn.__main__", "hbnn.sim.cocotb_stream"):
        importlib.import_module(name)
for name in ("model", "hw", "sim", "boards"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        continue
    raise AssertionError(f"a top-level {name!r} is importable")
from hbnn.boards.flow import ECP5_ALU_MAP
assert ECP5_ALU_MAP.is_file(), ECP5_ALU_MAP          # a data file, not a module: package-data
print(len(modules))
"""
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 60            # every module of every package came with the wheel
