"""Cycles of folded weight layers (`hw.fold_schedule`) per bit mix, at the same PE x lanes.

Run: `.venv/bin/python benchmarks/fold_cycles.py [--dataset mnist1d --net cnn1d --width 64]
[--mixes 1,1.2,1.4,2] [--seeds 3] [--pe 4 8] [--lanes 16 24 32 48] [--build build]`.
Trains (or reuses from `--build`, under the names `hbnn compare` gives them) the net at each mix
and seed with power-of-two plane ratios, exports it, and schedules the convolution layers whose
fan-in is at least `--lanes` (a narrower one, like the first convolution of the MNIST-1D CNN with
5 inputs per output, leaves most lanes idle however it is folded and stays unrolled) at each
folding. Per layer, cycles per image = the schedule's cycles per input vector x the output
positions. Prints one Markdown table: cycles per image of those layers (mean over seeds), the ratio
to 2 bits of the same seed (min-max over seeds), the ideal ratio (lanes alone: the layers' weight
bits / the 2-bit layers'), the chosen split per layer and the lane-cycles doing work.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from hbnn.hw.fold_schedule import Folding, Schedule
from hbnn.model.config import net_config
from hbnn.model.layout import WeightLayer, load
from hbnn.model.recipes import default_checkpoint_path, export_checkpoint, train_checkpoint

REFERENCE = "2"      # the mix every ratio is taken against


def layout_for(dataset: str, net: str, mix: str, width: int, seed: int, root: Path):
    """The exported layout of one net, trained and exported unless `root` holds it already."""
    config = net_config(dataset, net, weights=mix, width=width, ratio_digits=1)
    checkpoint = default_checkpoint_path(config, seed, root)
    checkpoint = checkpoint.with_name(f"{checkpoint.stem}-width{width}-rd1{checkpoint.suffix}")
    path = root / "layouts" / f"{checkpoint.stem}.npz"
    if path.exists():
        return load(path)
    if not checkpoint.exists():
        print(f"training {mix} bits, seed {seed} ...", flush=True)
        train_checkpoint(config, seed=seed, output=checkpoint, progress=False)
    return export_checkpoint(checkpoint, path)[1]


def folded_layers(network, lanes: int) -> list[WeightLayer]:
    """The convolution layers worth folding with `lanes` lanes (module docstring)."""
    return [layer for layer in network.weight_layers() if layer.kind != "dense" and layer.fan_in >= lanes]


def image_cycles(network, folding: Folding) -> tuple[int, list[Schedule]]:
    """Cycles per image of the folded convolution layers, and their schedules."""
    schedules = [Schedule(layer, folding) for layer in folded_layers(network, folding.lanes)]
    return sum(s.cycles * int(np.prod(s.layer.out_shape[1:])) for s in schedules), schedules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist1d")
    parser.add_argument("--net", default="cnn1d")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--mixes", default="1,1.2,1.4,2", help="comma-separated weight mixes (2 is the reference)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pe", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--lanes", type=int, nargs="+", default=[16, 24, 32, 48])
    parser.add_argument("--build", default="build", help="folder of checkpoints and layouts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    mixes = [mix.strip() for mix in args.mixes.split(",") if mix.strip()]
    if REFERENCE not in mixes:
        raise SystemExit(f"--mixes must include {REFERENCE} (the reference of every ratio)")
    networks = {(mix, seed): layout_for(args.dataset, args.net, mix, args.width, seed, Path(args.build))
                for mix in mixes for seed in range(args.seeds)}
    print(f"{args.dataset} {args.net}, width {args.width}, convolution layers with a fan-in of at least the "
          f"lanes, seeds 0-{args.seeds - 1}\n")
    print("| PE | lanes | weights | cycles per image | ratio to 2 bits | ideal ratio | split per conv layer "
          "(inputs E, sparse lanes S) | lane-cycles used |")
    print("|---|---|---|---|---|---|---|---|")
    for pe in args.pe:
        for lanes in args.lanes:
            folding = Folding(pe=pe, lanes=lanes)
            reference = {seed: image_cycles(networks[REFERENCE, seed], folding)[0] for seed in range(args.seeds)}
            for mix in mixes:
                runs = [image_cycles(networks[mix, seed], folding) for seed in range(args.seeds)]
                ratios = [cycles / reference[seed] for seed, (cycles, _) in enumerate(runs)]
                ideal = [sum(int(l.bits.sum()) for l in folded_layers(networks[mix, seed], lanes))
                         / sum(int(l.bits.sum()) for l in folded_layers(networks[REFERENCE, seed], lanes))
                         for seed in range(args.seeds)]
                splits = ", ".join(f"{s.elements},{s.sparse_lanes}" for s in runs[0][1])
                used = np.mean([s.lanes_used for _, schedules in runs for s in schedules])
                print(f"| {pe} | {lanes} | {mix} | {np.mean([c for c, _ in runs]):,.0f} | "
                      f"{min(ratios):.3f}-{max(ratios):.3f} | {np.mean(ideal):.3f} | {splits} | {used:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
