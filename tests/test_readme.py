"""The README's Python example runs as written (in a temporary folder)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme"})
    assert "golden = float class on 100.00 % of 360 test images" in capsys.readouterr().out
    assert (tmp_path / "build" / "api" / "mlp.v").is_file()
