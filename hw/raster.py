"""Raster-order walks over feature maps, shared by the window generator and max-pool."""

from amaranth.hdl import Mux


def count(shape) -> int:
    """Positions of a map with spatial `shape` (H, W) or (L,)."""
    total = 1
    for size in shape:
        total *= size
    return total


def step(m, *, row, col, height: int, width: int, when) -> None:
    """Move (row, col) to the next position in raster order when `when` is high, wrapping to the
    first position of the next image after the last (for 1-D maps `row` is None)."""
    with m.If(when):
        with m.If(col == width - 1):
            m.d.sync += col.eq(0)
            if row is not None:
                m.d.sync += row.eq(Mux(row == height - 1, 0, row + 1))
        with m.Else():
            m.d.sync += col.eq(col + 1)
