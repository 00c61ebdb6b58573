"""FPGA targets and the open flow onto them: boards, yosys/nextpnr runs, and their parsed reports.

`BOARDS` maps each board name to its `Board` (one declarative module per board); `get(name)` looks
one up with a one-line error naming the choices. `flow` synthesizes, places and routes a layout
for a board (`tools` points it at the YoWASP builds), `reports` parses the tools' JSON, and the
subpackage `energy` estimates energy per inference from those reports. The gateware that puts a
network on a board's pins (UART bridge) lives with the other gateware in `hbnn.hw`.
"""

from hbnn.model.errors import unknown_choice

from . import ice40_hx8k, icebreaker, ulx3s_25f, ulx3s_85f
from .board import Board, Capacity

BOARDS: dict[str, Board] = {module.BOARD.name: module.BOARD
                            for module in (icebreaker, ice40_hx8k, ulx3s_25f, ulx3s_85f)}
DEFAULT_BOARD = "ulx3s-85f"


def get(name: str) -> Board:
    if name not in BOARDS:
        raise unknown_choice("board", name, BOARDS)
    return BOARDS[name]


__all__ = ["BOARDS", "DEFAULT_BOARD", "Board", "Capacity", "get"]
