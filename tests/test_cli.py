"""The command line: subcommands work, and every bad input is one line naming it, before any work.

`BAD_INPUTS` is the table of refusals: each is run through `hbnn.cli.main` in one fresh Python
process that must not import torch or amaranth (the refusal comes from the validation pass, in a
fraction of a second) and must write nothing; the message is compared whole.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from hbnn.cli import main
from hbnn.model import layout
from hbnn.model.synthetic import dense_layer

# (argv with {placeholders}, the whole message after "hbnn: error: ")
BAD_INPUTS = [
    # the list
    (["compare", "--sim", "questa", "--build", "{build}"],
     "unknown simulator 'questa'; choose one of: icarus, verilator"),
    (["experiment", "reconstruction", "--seeds", "0"], "argument --seeds: must be a positive integer, not 0"),
    (["generate", "{layout}", "--family", "ice40", "-o", "{build}/x.v"],
     "--family applies only to --popcount mapped (the generic popcount is the same on every family)"),
    (["generate", "{layout}", "-o", "{build}/out.txt"], "Verilog '{build}/out.txt' must end in .v"),
    (["train", "--weight", "2"], "unrecognized arguments: --weight 2"),
    (["export", "{layout}"], "'{layout}' is a layout, not a checkpoint (hbnn train writes checkpoints; "
                             "hbnn export turns them into layouts)"),
    (["inspect", "{text}"], "'{text}' is not a layout file (hbnn export writes layouts: .npz archives with a "
                            "manifest)"),
    (["inspect", "{folder}"], "layout '{folder}' is a folder, not a file (hbnn export writes layouts, .npz)"),
    # training options
    (["train", "--weights", "1.45"], "unknown weight mix '1.45'; give percentages like 70/20/10 or one of: "
                                     "1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 3"),
    (["train", "--weights", "60/20/10"], "weight mix '60/20/10' sums to 90, not 100"),
    (["train", "--weights", "70/10/10/10"], "weight mix '70/10/10/10' has 4 bitwidths; at most 3 bits are supported"),
    (["train", "--weights", "70/20/x"], "weight mix '70/20/x' must be whole percentages like 70/20/10"),
    (["train", "--method", "xnor"], "unknown method 'xnor'; choose one of: bc, pc, bnn, bnn+, bnn++, pq"),
    (["train", "--dataset", "cifar"], "unknown data set 'cifar'; choose one of: digits, mnist1d"),
    (["train", "--net", "resnet"], "unknown net for data set 'digits': 'resnet'; choose one of: mlp, cnn"),
    (["train", "--dataset", "digits", "--net", "cnn1d"],
     "unknown net for data set 'digits': 'cnn1d'; choose one of: mlp, cnn"),
    (["train", "--allocation", "sideways"],
     "unknown allocation 'sideways'; choose one of: middle-out, middle-out-residual, top-down, bottom-up, random, "
     "middle-out-column, middle-out-group8"),
    (["train", "--scale", "row"], "unknown scale granularity 'row'; choose one of: tensor, channel"),
    (["train", "--act-bits", "4"], "activation bits must be 1..3 (or 0 for float), not 4"),
    (["train", "--pixel-bits", "9"], "pixel bits must be 1..8, not 9"),
    (["train", "--pixel-bits", "0"], "argument --pixel-bits: must be a positive integer, not 0"),
    (["train", "--ratio-bits", "13"], "ratio bits must be 0..12, not 13"),
    (["train", "--ratio-digits", "5"], "ratio digits must be 0..4 (0: unrestricted), not 5"),
    (["train", "--width", "0"], "argument --width: must be a positive integer, not 0"),
    (["train", "--epochs", "0"], "argument --epochs: must be a positive integer, not 0"),
    (["train", "--epochs", "many"], "argument --epochs: must be a positive integer, not 'many'"),
    (["train", "--seed", "-1"], "argument --seed: must be a non-negative integer, not -1"),
    (["train", "-o", "{build}/model.npz"], "checkpoint '{build}/model.npz' must end in .pt"),
    (["train", "-o", "{folder_pt}"], "checkpoint '{folder_pt}' is a folder; name a .pt file"),
    (["train", "-o", "{text}/model.pt"], "checkpoint folder '{text}' is a file, not a folder"),
    # checkpoints and layouts
    (["evaluate", "{build}/missing.pt"], "checkpoint '{build}/missing.pt' does not exist"),
    (["evaluate", "{text}"], "'{text}' is not an hbnn checkpoint (hbnn train writes checkpoints: torch "
                             "archives, .pt)"),
    (["evaluate", "{folder}"], "checkpoint '{folder}' is a folder, not a file (hbnn train writes checkpoints, .pt)"),
    (["export", "{checkpoint}", "-o", "{build}/x.v"], "layout '{build}/x.v' must end in .npz"),
    (["inspect", "{checkpoint}"], "'{checkpoint}' is a checkpoint, not a layout; export it first: hbnn export "
                                  "{checkpoint}"),
    # hardware
    (["generate", "{layout}", "--popcount", "mapped", "-o", "{build}/x.v"],
     "--popcount mapped needs --family ice40 or ecp5 (the cells to instantiate)"),
    (["generate", "{layout}", "--popcount", "mapped", "--family", "xc7", "-o", "{build}/x.v"],
     "unknown FPGA family 'xc7'; choose one of: ice40, ecp5"),
    (["generate", "{layout}", "--popcount", "fast", "-o", "{build}/x.v"],
     "unknown popcount strategy 'fast'; choose one of: generic, mapped, cse"),
    (["generate", "{layout}", "--pipeline", "-1"],
     "argument --pipeline: must be a non-negative integer or 'full', not '-1'"),
    (["generate", "{build}/none.npz"], "layout '{build}/none.npz' does not exist"),
    (["generate", "{layout}", "--fold", "1x4"], "argument --fold: '1x4' is not LAYER:PExLANES (e.g. 1:4x32)"),
    (["generate", "{layout}", "--fold", "0:0x4"], "argument --fold: '0:0x4': pe must be a positive integer, not 0"),
    (["generate", "{layout}", "--fold", "0:1x4,0:2x4"], "argument --fold: weight layer 0 is folded twice"),
    (["generate", "{layout}", "--fold", "auto:0"],
     "argument --fold: 'auto:0': auto needs a positive number of cycles per image, like auto:5000"),
    (["generate", "{layout}", "--fold", "1:2x8", "-o", "{build}/x.v"],
     "--fold: folding names weight layer 1; the network has weight layers 0-0"),
    (["simulate", "{layout}", "--fold", "0:2x8", "--build", "{build}"],
     "--fold: a folded layer needs residual (+-1 plane) inputs; a layer reading pixels stays unrolled"),
    (["generate", "{pixels_0}"], "network: field 'pixel_bits' is 0, expected 1..8"),
    (["generate", "{pixels_minus_1}"], "network: field 'pixel_bits' is -1, expected 1..8"),
    (["simulate", "{layout}", "--images", "0"], "argument --images: must be a positive integer, not 0"),
    (["simulate", "{layout}", "--sim", "questa", "--build", "{build}"],
     "unknown simulator 'questa'; choose one of: icarus, verilator"),
    (["simulate", "{layout}", "--build", "{text}"], "build folder '{text}' is a file, not a folder"),
    (["synth", "{layout}", "--board", "de10", "--build", "{build}"],
     "unknown board 'de10'; choose one of: icebreaker, ice40-hx8k, ulx3s-25f, ulx3s-85f"),
    (["synth", "{layout}", "--placement-seeds", "0", "--build", "{build}"],
     "argument --placement-seeds: must be a positive integer, not 0"),
    (["synth", "{layout}", "--core-clock", "0", "--build", "{build}"],
     "argument --core-clock: must be a positive frequency in MHz, not '0'"),
    (["compare", "--core-clock", "450", "--build", "{build}"],
     "--core-clock: Core clock 450 MHz is out of the ecp5 PLL's reach from 25 MHz (closest: 400 MHz)"),
    (["synth", "{layout}", "--popcount", "fast", "--build", "{build}"],
     "unknown popcount strategy 'fast'; choose one of: generic, mapped, cse"),
    (["synth", "{layout}", "--family", "ice40"], "unrecognized arguments: --family ice40"),
    # comparisons and experiments
    (["compare", "--mixes", ",", "--build", "{build}"], "no bit mixes given; name at least one, e.g. 1,1.4,2"),
    (["compare", "--mixes", "1.4,70/20/10,2", "--build", "{build}"],
     "bit mixes 1.4, 70/20/10 name the same design; give each once"),
    (["compare", "--mixes", "1,1.45", "--build", "{build}"],
     "unknown weight mix '1.45'; give percentages like 70/20/10 or one of: 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, "
     "1.7, 1.8, 1.9, 2, 3"),
    (["compare", "--board", "de10", "--build", "{build}"],
     "unknown board 'de10'; choose one of: icebreaker, ice40-hx8k, ulx3s-25f, ulx3s-85f"),
    (["compare", "--dataset", "mnist1d", "--net", "cnn", "--build", "{build}"],
     "unknown net for data set 'mnist1d': 'cnn'; choose one of: cnn1d, mlp"),
    (["compare", "--images", "0"], "argument --images: must be a positive integer, not 0"),
    (["compare", "--seeds", "0"], "argument --seeds: must be a positive integer, not 0"),
    (["compare", "--images", "some"], "argument --images: must be a positive integer, not 'some'"),
    (["demo", "--seeds", "x"], "argument --seeds: must be a positive integer, not 'x'"),
    (["compare", "--width", "16,0"], "argument --width: must be a positive integer, not 0"),
    (["compare", "--width", "16,16", "--build", "{build}"], "widths 16, 16 repeat a width; give each once"),
    (["compare", "--mixes", "1.4:sideways", "--build", "{build}"],
     "unknown allocation 'sideways'; choose one of: middle-out, middle-out-residual, top-down, bottom-up, "
     "random, middle-out-column, middle-out-group8"),
    (["compare", "--build", "{text}"], "build folder '{text}' is a file, not a folder"),
    (["compare", "--fold", "5:2x8", "--build", "{build}"],
     "--fold: folding names weight layer 5; digits/mlp has weight layers 0-1"),
    (["compare", "--fold", "0:2x8", "--build", "{build}"],
     "--fold: a folded layer needs residual (+-1 plane) inputs; a layer reading pixels stays unrolled"),
    (["compare", "--fold", "1:2x8", "--pipeline", "full", "--build", "{build}"],
     "--fold: folded layers cannot be fully pipelined yet (--pipeline full needs every stage to take a vector "
     "per cycle); fold with --pipeline 0"),
    (["demo", "--sim", "questa", "--build", "{build}"], "unknown simulator 'questa'; choose one of: icarus, verilator"),
    (["experiment", "nothing"], "unknown experiment 'nothing'; choose one of: reconstruction, recipes, bitmix, methods, gradient, "
     "masks"),
    (["experiment", "reconstruction", "--epochs", "3"],
     "--epochs does not apply to the reconstruction experiment, which trains no nets"),
    (["experiment", "bitmix", "--datasets", "digits,cifar"], "unknown data set 'cifar'; choose one of: digits, mnist1d"),
    (["experiment", "bitmix", "--out", "{text}"], "output folder '{text}' is a file, not a folder"),
    (["experiment", "methods", "--workers", "0"], "argument --workers: must be a positive integer, not 0"),
    (["train", "--gradient", "both"], "unknown gradient 'both'; choose one of: single, per-plane"),
    (["experiment", "reconstruction", "--workers", "2"],
     "--workers does not apply to the reconstruction experiment, which trains no nets"),
    # the command itself
    ([], "the following arguments are required: COMMAND"),
]

PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from hbnn.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exit:
                code = exit.code
        results.append([code, err.getvalue()])
    heavy = sorted({name.split(".")[0] for name in sys.modules} & {"torch", "amaranth", "sklearn"})
    print(json.dumps({"results": results, "heavy": heavy}))
""")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the bad inputs name: a layout, a checkpoint, a text file, a folder, a build folder
    that must never be created."""
    root = tmp_path_factory.mktemp("cli")
    text = root / "README.md"
    text.write_text("# not a layout\n")
    (root / "folder").mkdir()
    (root / "nets.pt").mkdir()
    torch.save({"weights": torch.zeros(2)}, root / "net.pt")
    tiny = layout.save(dense_layer(8, 2, "1"), root / "tiny.npz")
    return {"layout": str(tiny), "text": str(text),
            "pixels_0": _with_pixel_bits(tiny, 0, root / "pixels0.npz"),
            "pixels_minus_1": _with_pixel_bits(tiny, -1, root / "pixels-1.npz"),
            "folder": str(root / "folder"), "folder_pt": str(root / "nets.pt"), "checkpoint": str(root / "net.pt"), "build": str(root / "build")}


def _with_pixel_bits(source, bits, path) -> str:
    """A copy of a layout whose manifest says `bits` pixel bits, consistently hashed (as another
    tool might write it)."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    manifest = json.loads(arrays.pop("manifest").tobytes().decode())
    manifest["pixel_bits"] = bits
    manifest["content_hash"] = layout.content_hash(manifest, arrays)
    np.savez(path, manifest=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8), **arrays)
    return str(path)


@pytest.fixture(scope="module")
def refusals(files):
    """Every bad input, run in one fresh process; its results and the heavy modules it imported."""
    argvs = [[arg.format(**files) for arg in argv] for argv, _ in BAD_INPUTS]
    probe = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argvs)], capture_output=True, text=True,
                           check=True)
    return json.loads(probe.stdout)


@pytest.mark.parametrize("index", range(len(BAD_INPUTS)), ids=[" ".join(argv) or "(none)" for argv, _ in BAD_INPUTS])
def test_a_bad_input_is_one_line_and_exit_2(refusals, files, index):
    code, err = refusals["results"][index]
    assert err == f"hbnn: error: {BAD_INPUTS[index][1].format(**files)}\n"
    assert code == 2


def test_refusals_import_neither_torch_nor_amaranth_and_write_nothing(refusals, files):
    assert refusals["heavy"] == []
    assert not Path(files["build"]).exists()


def test_an_unknown_command_is_one_line(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and err.startswith("hbnn: error: argument COMMAND: invalid choice: 'frobnicate' (choose from ")
    assert err.count("\n") == 1 and "experiment" in err


def run(capsys, *argv):
    """Exit status, stdout and stderr of `hbnn ARGV` (argparse's own errors exit via SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_is_fast_and_shows_every_default():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "hbnn", "train", "--help"],
                            capture_output=True, text=True, check=True)
    assert "(default: 1.4)" in result.stdout and "(default: middle-out)" in result.stdout
    assert "(default: 0)" in result.stdout          # --seed and --ratio-digits show their 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert not imported & {"torch", "amaranth"}
    result = subprocess.run([sys.executable, "-m", "hbnn", "--help"], capture_output=True, text=True, check=True)
    for command in ("demo", "train", "evaluate", "export", "inspect", "generate", "simulate", "synth",
                    "compare", "experiment"):
        assert command in result.stdout
    for command in ("generate", "simulate", "synth", "compare"):
        text = " ".join(subprocess.run([sys.executable, "-m", "hbnn", command, "--help"], capture_output=True,
                                       text=True, check=True).stdout.split())
        assert "--pipeline N|full" in text and "(default: 0)" in text and "(default: generic)" in text


def test_train_then_evaluate(capsys, tmp_path):
    path = tmp_path / "mlp.pt"
    code, out, _ = run(capsys, "train", "--epochs", "3", "--weights", "70/20/10", "--quiet", "-o", str(path))
    assert code == 0 and path.is_file()
    accuracy = out.split("test accuracy ")[1].split(" %")[0]
    code, out, _ = run(capsys, "evaluate", str(path))
    assert code == 0 and f"test accuracy {accuracy} %" in out


def test_export_and_inspect(capsys, tmp_path):
    checkpoint = tmp_path / "mlp.pt"
    assert run(capsys, "train", "--epochs", "3", "--quiet", "-o", str(checkpoint))[0] == 0
    layout_path = tmp_path / "mlp.npz"
    code, out, _ = run(capsys, "export", str(checkpoint), "-o", str(layout_path))
    assert code == 0 and layout_path.is_file()
    assert "golden = float class on 100.00 % of 360 test images" in out
    code, out, _ = run(capsys, "inspect", str(layout_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("digits/mlp, weights 1.4, input 1x8x8 at 4 bits, 10 classes")
    total = lines[-1].split()
    assert total[:3] == ["total", "2368", "1658/473/237"]  # 64x32 + 32x10 weights at 70/20/10


def test_export_refuses_float_nets(capsys, tmp_path):
    checkpoint = tmp_path / "float.pt"
    assert run(capsys, "train", "--epochs", "1", "--weights", "float", "--act-bits", "0", "--quiet",
               "-o", str(checkpoint))[0] == 0
    code, _, err = run(capsys, "export", str(checkpoint), "-o", str(tmp_path / "x.npz"))
    assert code == 2 and err == ("hbnn: error: export needs binarized activations; this net has float "
                                 "activations (act-bits 0)\n")
    assert not (tmp_path / "x.npz").exists()


def test_a_layout_the_generator_cannot_build_is_one_line(capsys, tmp_path):
    """A convolution whose stride skips input: the layout is valid, the generator refuses it."""
    from random_layouts import random_network

    net = next(n for n in (random_network(s, "conv2d") for s in range(500))
               if n.layers[0].stride > n.layers[0].kernel)
    path = layout.save(net, tmp_path / "strided.npz")
    code, _, err = run(capsys, "generate", str(path), "-o", str(tmp_path / "strided.v"))
    assert code == 2 and err == ("hbnn: error: layer 0 (conv2d): stride 2 is larger than kernel 1; the line "
                                 "buffer would skip input\n")
    assert not (tmp_path / "strided.v").exists()


def test_a_reader_that_goes_away_ends_the_command_quietly(files, monkeypatch, tmp_path):
    """`hbnn inspect LAYOUT | head -1`: stdout breaks; no traceback, exit status 1."""
    sink = open(tmp_path / "stdout", "w")

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return sink.fileno()

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["inspect", files["layout"]]) == 1
    sink.close()


def test_a_full_disk_is_one_line_and_other_system_errors_keep_their_traceback(capsys, files, monkeypatch, tmp_path):
    import errno

    from hbnn.hw import generate as generate_module

    def full(path, content):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(generate_module, "write_atomic", full)
    assert main(["generate", files["layout"], "-o", str(tmp_path / "x.v")]) == 1
    assert capsys.readouterr().err.endswith(f"hbnn: error: No space left on device: {tmp_path / 'x.v'}\n")

    def vanished(path, content):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))

    monkeypatch.setattr(generate_module, "write_atomic", vanished)
    with pytest.raises(FileNotFoundError):
        main(["generate", files["layout"], "-o", str(tmp_path / "x.v")])
