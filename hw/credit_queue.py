"""`credit_queue.CreditQueue`: the output FIFO of `elastic.admit`, with every control flag a register.

Why not `amaranth.lib.fifo.SyncFIFOBuffered`: it is the right FIFO for a general writer, but in a
fully pipelined design on the iCE40 HX8K its control was the critical path of every placement
(6.5-7.8 ns against the 6.67 ns of 150 MHz): the sink's `ready` ran through `inner_level != 0`
(two LUT levels), the read decision, a wrap-around compare of the read pointer (its depth is not a
power of two) and the level counter's add. Here the writer never needs a full flag (a credit
reserved the slot before the item entered the pipeline), so the queue can be simpler:

- storage of `2**ceil(log2(depth))` entries, so the pointers wrap for free;
- `nonempty` is a register, computed a cycle ahead from the stored count `L`:

      L' = read ? L + write - 1 : L + write      (two adds of registers; `read` picks one)
      nonempty' = write | (nonempty & ~read) | (read & L >= 2)

  where `L >= 2` comes from the count register alone, off the `ready` path;
- an output register in front of the sink (block-RAM-style synchronous read, as in
  `SyncFIFOBuffered`): `read = nonempty & (~r_rdy | r_en)`.

So the sink's `r_en` reaches no flip-flop through more than two LUTs (the count's carry chain
adds registers only; `read` picks one of its two sums).

Where the storage goes (`storage_style`): on the ECP5 it is LUT RAM (`ram_style = "distributed"`).
Left to itself, yosys maps the 64 entries of a fully pipelined digits MLP's queue to a DP16KD block
RAM, whose read data leaves without its output register: that path, from the block RAM to the
clock-crossing register, was the critical one of every placement (7.7 ns, 121-130 MHz; in LUT
RAM the same design reaches 205.8-218.8 MHz, README "Throughput"). The iCE40 has no LUT RAM,
and the fully pipelined HX8K design with its storage in block RAM meets 150 MHz (171.4 MHz,
README), so there the storage stays yosys's choice.

Ports (as `SyncFIFOBuffered`'s): `w_en`, `w_data` (write; never refused), `r_rdy`, `r_en`,
`r_data` (read: `r_data` is valid while `r_rdy`, taken when `r_en`), `level` (items held) and
`w_rdy` = `level < depth`, for checks only: nothing in the design reads them, so they cost no logic.

Latency: an item written in cycle t is at the output (`r_rdy`) in cycle t + 2. Capacity: `depth`
items (the credits never admit more); full rate, one item in and one out per cycle.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CreditQueue", "storage_style"]

# FPGA families (`hw.families`) whose LUT RAM the queue's storage is kept in (module docstring)
LUT_RAM_FAMILIES = ("ecp5",)


def storage_style(platform) -> dict:
    """The yosys attributes for the queue's storage on `platform` (an amaranth platform or None):
    `ram_style = "distributed"` where the family has LUT RAM worth preferring, else none."""
    return {"ram_style": "distributed"} if getattr(platform, "family", None) in LUT_RAM_FAMILIES else {}


class CreditQueue(wiring.Component):
    """A first-in first-out queue of `depth` items of `width` bits whose writes are never refused
    (module docstring)."""

    def __init__(self, *, width: int, depth: int):
        if depth < 1:
            self._MustUse__silence = True          # refused: never meant to be elaborated
            raise ValueError(f"the queue needs at least one entry, not {depth}")
        self.width, self.depth = width, depth
        self.storage_depth = 1 << (depth - 1).bit_length()      # a power of two >= depth
        super().__init__({
            "w_en": In(1), "w_data": In(width), "w_rdy": Out(1),
            "r_rdy": Out(1), "r_en": In(1), "r_data": Out(width),
            "level": Out(range(depth + 2)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.storage = storage = memory.Memory(shape=self.width, depth=self.storage_depth, init=[],
                                                            attrs=storage_style(platform))
        write_port, read_port = storage.write_port(), storage.read_port(domain="sync")
        produce = Signal(range(self.storage_depth))          # wraps at the storage depth for free
        consume = Signal(range(self.storage_depth))
        stored = Signal(range(self.storage_depth + 1))       # L: items in the storage
        nonempty = Signal()                                  # L != 0, a cycle ahead
        read = Signal()

        m.d.comb += [
            write_port.addr.eq(produce), write_port.data.eq(self.w_data), write_port.en.eq(self.w_en),
            read.eq(nonempty & (~self.r_rdy | self.r_en)),
            read_port.addr.eq(consume), read_port.en.eq(read), self.r_data.eq(read_port.data),
            self.level.eq(stored + self.r_rdy),
            self.w_rdy.eq(self.level < self.depth),
        ]
        m.d.sync += [
            produce.eq(produce + self.w_en),
            consume.eq(consume + read),
            # two sums of registers, picked by `read` (which the sink's r_en drives): with `read`
            # inside the add, that path ran through the carry chain (4.95 ns on the ECP5-85F)
            stored.eq(Mux(read, stored + Mux(self.w_en, 0, -1), stored + self.w_en)),
            nonempty.eq(self.w_en | (nonempty & ~read) | (read & (stored >= 2))),
        ]
        with m.If(read):
            m.d.sync += self.r_rdy.eq(1)
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m
