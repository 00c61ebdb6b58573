"""The command line: subcommands work, and every bad value is one line naming it and the choices."""

import subprocess
import sys

import pytest

from hbnn.cli import main


def run(capsys, *argv):
    """Exit status, stdout and stderr of `hbnn ARGV` (argparse's own errors exit via SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, message", [
    (["train", "--weights", "1.45"], "hbnn: error: unknown weight mix '1.45'; give percentages like 70/20/10 or one of: 1, 1.1"),
    (["train", "--weights", "60/20/10"], "hbnn: error: weight mix '60/20/10' sums to 90, not 100"),
    (["train", "--weights", "70/10/10/10"], "hbnn: error: weight mix '70/10/10/10' has 4 bitwidths; at most 3 bits are supported"),
    (["train", "--method", "xnor"], "hbnn: error: unknown method 'xnor'; choose one of: bc, pc, bnn, bnn+, bnn++, pq"),
    (["train", "--dataset", "cifar"], "hbnn: error: unknown data set 'cifar'; choose one of: digits, mnist1d"),
    (["train", "--net", "resnet"], "hbnn: error: unknown net for data set 'digits': 'resnet'; choose one of: mlp, cnn"),
    (["train", "--allocation", "sideways"], "hbnn: error: unknown allocation 'sideways'; choose one of: middle-out, top-down, bottom-up, random"),
    (["train", "--act-bits", "4"], "hbnn: error: activation bits must be 1..3 (or 0 for float), not 4"),
    (["train", "--epochs", "0"], "hbnn: error: epochs must be a positive integer, not 0"),
    (["train", "--epochs", "many"], "hbnn: error: argument --epochs: invalid int value: 'many'"),
    (["experiment", "nothing"], "hbnn: error: unknown experiment 'nothing'; choose one of: reconstruction, bitmix, methods"),
    (["evaluate", "missing.pt"], "hbnn: error: checkpoint 'missing.pt' does not exist"),
])
def test_bad_values_get_one_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_checkpoint_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("garbage")
    code, _, err = run(capsys, "evaluate", str(bad))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"hbnn: error: checkpoint '{bad}' is not a readable hbnn checkpoint")


def test_train_then_evaluate(capsys, tmp_path):
    path = tmp_path / "mlp.pt"
    code, out, _ = run(capsys, "train", "--epochs", "3", "--weights", "70/20/10", "--quiet", "-o", str(path))
    assert code == 0 and path.is_file()
    accuracy = out.split("test accuracy ")[1].split(" %")[0]
    code, out, _ = run(capsys, "evaluate", str(path))
    assert code == 0 and f"test accuracy {accuracy} %" in out


def test_help_shows_subcommands_and_defaults():
    result = subprocess.run([sys.executable, "-m", "hbnn", "train", "--help"], capture_output=True,
                            text=True, check=True)
    assert "(default: 1.4)" in result.stdout and "(default: middle-out)" in result.stdout
    result = subprocess.run([sys.executable, "-m", "hbnn", "--help"], capture_output=True, text=True,
                            check=True)
    for command in ("demo", "train", "evaluate", "experiment"):
        assert command in result.stdout


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


def test_inspect_reports_a_broken_layout_in_one_line(capsys, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run(capsys, "inspect", str(broken))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"hbnn: error: layout '{broken}' is not a readable .npz file")
