"""The end-to-end flow behind `hbnn demo`: train, export, generate Verilog, simulate, report.

It sits on top of `model` (training, export, golden model) and `hw` (the generator), which do not
know each other.
"""

from dataclasses import dataclass
from pathlib import Path

from hw.generate import Generated, generate
from model import data, layout
from model.agreement import Agreement, measure
from model.export import export, pixel_codes
from model.recipes import DemoRow, train_default_and_baseline

from .runner import SimReport, simulate


@dataclass
class DemoResult:
    rows: list[DemoRow]
    agreement: Agreement
    layout_path: Path
    generated: Generated
    simulation: SimReport


def demo(*, seed: int = 0, images: int = 100, progress: bool = True, root: str | Path = "build",
         simulator: str = "icarus") -> DemoResult:
    """Train the default digits MLP (1.4 bits) and its float baseline, export the binarized one, check
    the golden model against it, generate Verilog and run `images` test images through that Verilog
    in `simulator` (cocotb) against the golden model."""
    root = Path(root)
    rows = train_default_and_baseline(seed=seed, progress=progress, root=root)
    net = rows[0].result.net
    network = export(net, {"dataset": "digits", "net": net.config.net, "weights": net.config.weights})
    dataset = data.load("digits")
    agreement = measure(net, network, dataset)
    layout_path = layout.save(network, root / "layouts" / (rows[0].path.stem + ".npz"))
    generated = generate(layout.load(layout_path), root / "verilog" / (rows[0].path.stem + ".v"))
    simulation = simulate(network, generated.verilog, generated.description,
                          pixel_codes(network, dataset.test_x[:images]), simulator=simulator,
                          build_dir=root / "sim" / (rows[0].path.stem + f"-{simulator}"), seed=seed,
                          progress=progress)
    return DemoResult(rows, agreement, layout_path, generated, simulation)
