"""`folded.Layer`: a weight layer folded onto PE processing elements of `lanes` lanes, weights in memory.

Where `dense.Layer` spends logic on every weight bit, this unit spends cycles: `pe` rows (outputs)
at a time, `lanes` weight-plane bits per PE per cycle, in the order `fold_schedule.Schedule` gives.
Its two sides run side by side and meet per row:

- **dense side** (every PE in lockstep): block b of the input vector (E elements) against each
  PE's dense weight word for (row slot, block) from its `dense_weights` memory;
- **sparse side** (one schedule per PE, one shared cycle counter): each PE's `sparse_weights` word
  holds `sparse_lanes` entries (valid, sign, input index), the cycle's sparse plane and a row-end
  flag; lane l reads input element `index` from its own copy of the input vector (`gather` memory
  in block RAM, words of `word_elements` elements), so every lane gathers any element in one read;
- **combine**: once both sides are done with a vector, each PE adds a row's two partial sums, slot
  by slot, compares them with the row's thresholds (`constants` memory) or adds the row's constant
  (the last layer's scores), and writes the result into the output register.

Arithmetic (residual inputs, n activation planes with weights Q_k; plane ratios R_i equal for every
row). With P_{o,i,k} the number of members j of plane i where activation bit k of x_j differs from
the weight's sign bit (that product is +1):

    Y_o = sum_{i,k} 2 R_i Q_k P_{o,i,k} + C_o,   C_o = -(sum_k Q_k) sum_i R_i n_{o,i}

(n_{o,i}: members of plane i in row o). Each side accumulates the sum over its planes of
2 R_i Q_k P (shifted copies, no multiplier); the constant C_o is folded into the row's thresholds
(level = number of m with acc >= T_{o,m} - C_o) or added to the score.

Memories (`amaranth.lib.memory`, mapped by yosys): per PE `dense_weights` (D E bits x slots
blocks), `sparse_weights`, one `gather` copy per sparse lane (`SLOTS` vectors x ceil(K / W) words
of W elements: the next vectors load while one is in use), `dense_sums` and `sparse_sums` (a row's
partial sums, `SLOTS` vectors deep), `constants` (thresholds or score constants per slot).

Protocol: `i` takes one fan-in vector per beat (element j at bits [j b, (j+1) b), as `dense.Layer`);
`o` gives the layer's output vector per beat (levels packed as `dense.Layer`'s, or the last layer's
signed scores). Input vectors are taken into two registers; a shift-register loader copies each
into the gather copies, W elements per cycle. Each side moves on to the next vector without a
bubble, so in steady state one vector leaves every `initiation_interval` = max(dense cycles, sparse
cycles, load cycles, slots + 2) cycles (`fold_schedule.unit_interval`).
`latency`: cycles from accepting a vector into an empty unit to its output being valid.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hbnn.model.layout import WeightLayer

from .adders import balanced_sum, constant_product_terms
from .dense import output_shape
from .fold_schedule import Folding, Schedule, check_foldable, gather_word_inputs, unit_interval

__all__ = ["Layer"]

# Vectors the gather copies and the partial sums hold (by the vector's number mod SLOTS): four, so
# the loader copies vector v + 2 while the sparse side still reads v, and a side starts v + 2 while
# v is still being combined (block RAM depth is free: a copy holds a few hundred bits of 18 kbit)
SLOTS = 4


def _exactly(value, bits: int):
    """`value`'s low `bits` bits, zero-extended if it is narrower: a field of a memory address
    (a 0-bit counter of a one-word slot must still take its place in the address)."""
    return Cat(value, Const(0, bits))[:bits]


def _unsigned_width(value: int) -> int:
    return max(1, int(value).bit_length())


class Layer(wiring.Component):
    """`layer` folded by `folding` (module docstring). `elements` fixes the schedule's split
    (`fold_schedule.Schedule`); by default it is chosen for the fewest cycles.

    `ports_of` (another weight layer) makes a stand-in for timing (`hw.timing`): the control of
    `layer`'s folded unit, cycle for cycle, with the ports of `ports_of` (a skeleton's one-channel
    layer) and no datapath; its output payload is 0."""

    def __init__(self, layer: WeightLayer, *, folding: Folding, elements: int | None = None,
                 ports_of: WeightLayer | None = None):
        if not isinstance(layer, WeightLayer):
            self._MustUse__silence = True          # refused: never meant to be elaborated
            raise TypeError(f"folded.Layer needs a model.layout.WeightLayer, not {type(layer).__name__}")
        try:
            check_foldable(layer)
        except ValueError:
            self._MustUse__silence = True
            raise
        self.layer = layer
        self.schedule = schedule = Schedule(layer, folding, elements=elements)
        self.in_bits = layer.input.bits
        q = [int(v) for v in layer.input.plane_weights]
        r = [int(v) for v in layer.plane_weights[0]]
        # 2 R_i Q_k for each (plane i, activation plane k): the weight of one matching lane
        self.lane_weights = {(i, k): 2 * r[i] * q[k] for i in range(len(r)) for k in range(len(q))}
        members = [(layer.bits > i).sum(axis=1) for i in range(len(r))]
        self.row_constants = [-sum(q) * sum(r[i] * int(members[i][o]) for i in range(len(r)))
                              for o in range(layer.out_channels)]
        self.dense_max = sum(self.lane_weights[i, k] for i in schedule.dense_planes for k in range(len(q))) \
            * layer.fan_in
        self.sparse_max = sum(self.lane_weights[i, k] * int(members[i].max())
                              for i in schedule.sparse_planes for k in range(len(q)))
        self.acc_width = layer.accumulator_width()
        self.word_elements = gather_word_inputs(schedule)
        self.load_cycles = -(-layer.fan_in // self.word_elements) if schedule.sparse_planes else 0
        # the partial sums of a vector's slots, padded to a power of two: address = (parity, slot)
        self.slot_bits = max(1, (schedule.slots - 1).bit_length())
        self.timing_only = ports_of is not None
        ports = layer if ports_of is None else ports_of
        super().__init__({          # the ports of `dense.Layer`, so either builds a layer
            "i": In(stream.Signature(ports.fan_in * ports.input.bits)),
            "o": Out(stream.Signature(output_shape(ports))),
        })

    def _datapath_pes(self) -> range:
        """The PEs whose datapath is built: all, or none in a timing stand-in."""
        return range(0 if self.timing_only else self.schedule.folding.pe)

    # -- timing --------------------------------------------------------------------------------------

    DENSE_DEPTH = 3      # dense side: address -> weights and input block -> contribution -> sum written
    SPARSE_DEPTH = 4     # sparse side: address -> entries -> gathered elements -> contribution -> written
    COMBINE_DEPTH = 2    # combine: address -> partial sums -> output written

    @property
    def initiation_interval(self) -> int:
        """Cycles between output vectors in steady state (`fold_schedule.unit_interval`)."""
        return unit_interval(self.schedule)

    @property
    def latency(self) -> int:
        """Cycles from accepting a vector into an empty unit to its output valid."""
        s = self.schedule
        dense = 1 + s.dense_cycles + self.DENSE_DEPTH - 1
        sparse = 1 + self.load_cycles + s.sparse_cycles + self.SPARSE_DEPTH - 1 if s.sparse_planes else 0
        return max(dense, sparse) + 1 + s.slots + self.COMBINE_DEPTH - 1

    # -- the unit ------------------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        s = self.schedule
        # One flag per resource and vector slot (the parity of the vector's number):
        # dense_pending: the vector register holds a vector the dense side has not finished reading;
        # load_pending: ... one the loader has not copied into the gather copies yet;
        # gathered: the gather copies hold a vector the sparse side has not finished reading;
        # dense_done, sparse_done: a side wrote the slot's last partial sum; the combine clears them.
        flags = {name: Signal(2, name=name) for name in ("dense_pending", "load_pending")}
        flags.update({name: Signal(SLOTS, name=name) for name in ("gathered", "dense_done", "sparse_done")})
        vectors = self._inputs(m, flags)
        dense_sums = self._dense_side(m, vectors, flags)
        sparse_sums = self._sparse_side(m, vectors, flags) if s.sparse_planes else None
        self._combine(m, dense_sums, sparse_sums, flags)
        return m

    def _inputs(self, m: Module, flags) -> list:
        """Two vector registers, and the loader: a shift register that takes each vector as it
        arrives and hands W elements per cycle to the gather copies once their slot is free (a
        word multiplexer over the two vector registers cost twice its LUTs)."""
        width = len(self.i.payload)
        vectors = [Signal(width, name=f"vector{q}") for q in range(2)]
        fill = Signal(name="fill_slot")             # the slot the next vector goes to
        self._loading = Signal(name="loading")
        self._load_slot = Signal(range(SLOTS), name="load_slot")    # the vector copied next, mod SLOTS
        self._load_word = Signal(range(max(self.load_cycles, 1)), name="load_word")
        self._load_data = Signal(self.load_cycles * self.word_elements * self.in_bits, name="load_shift")
        sparse = bool(self.schedule.sparse_planes)
        finishing = Signal(name="load_finishing")      # the loader copies its last word now
        # the shift register holds one vector: the next enters as the last word of the one before leaves
        busy = flags["dense_pending"] | flags["load_pending"]
        m.d.comb += self.i.ready.eq(~busy.bit_select(fill, 1) & (~flags["load_pending"].any() | finishing))
        if sparse:
            slot, step = self._load_slot, self.word_elements * self.in_bits
            m.d.comb += [self._loading.eq(flags["load_pending"].bit_select(slot[0], 1)
                                          & ~flags["gathered"].bit_select(slot, 1)),
                         finishing.eq(self._loading & (self._load_word == self.load_cycles - 1))]
            with m.If(self._loading):
                m.d.sync += [self._load_word.eq(self._load_word + 1), self._load_data.eq(self._load_data >> step)]
            with m.If(finishing):
                m.d.sync += [self._load_word.eq(0), slot.eq(slot + 1),
                             flags["load_pending"].bit_select(slot[0], 1).eq(0),
                             flags["gathered"].bit_select(slot, 1).eq(1)]
        # (after the loader's statements: a vector arriving as the last word leaves takes the register)
        with m.If(self.i.valid & self.i.ready):
            with m.If(fill):
                m.d.sync += vectors[1].eq(self.i.payload)
            with m.Else():
                m.d.sync += vectors[0].eq(self.i.payload)
            m.d.sync += [flags["dense_pending"].bit_select(fill, 1).eq(1), fill.eq(~fill)]
            if sparse:
                m.d.sync += [flags["load_pending"].bit_select(fill, 1).eq(1), self._load_data.eq(self.i.payload)]
        return vectors

    def _weighted(self, m: Module, counts: dict, name: str):
        """sum over (plane i, activation plane k) of 2 R_i Q_k count[i, k], as shifted copies."""
        terms = [term for (i, k), count in counts.items() for term in constant_product_terms(count, self.lane_weights[i, k])]
        return balanced_sum(m, terms, name=name) if terms else Const(0)

    def _bit(self, element, k: int):
        """Activation plane k of an element: bit b-1-k of its level (plane 1 is the MSB)."""
        return element[self.in_bits - 1 - k]

    # -- dense side ----------------------------------------------------------------------------------

    def _dense_side(self, m: Module, vectors, flags) -> list:
        """Block by block, every PE in lockstep; returns each PE's `dense_sums` memory."""
        s, b, e = self.schedule, self.in_bits, self.schedule.elements
        planes = s.dense_planes
        number = Signal(range(SLOTS), name="dense_vector")    # the vector's number mod SLOTS
        parity = number[0]                                     # ... mod 2: its vector register
        block = Signal(range(s.blocks), name="dense_block")
        slot = Signal(self.slot_bits, name="dense_slot")
        address = Signal(range(s.slots * s.blocks), name="dense_address")
        run = Signal(name="dense_run")
        m.d.comb += run.eq(flags["dense_pending"].bit_select(parity, 1) & ~flags["dense_done"].bit_select(number, 1))
        last_block, last_slot = block == s.blocks - 1, slot == s.slots - 1
        with m.If(run):
            m.d.sync += [address.eq(address + 1), block.eq(block + 1)]
            with m.If(last_block):
                m.d.sync += [block.eq(0), slot.eq(slot + 1)]
                with m.If(last_slot):
                    m.d.sync += [slot.eq(0), address.eq(0), number.eq(number + 1),
                                 flags["dense_pending"].bit_select(parity, 1).eq(0)]

        # stage 1: the block of the input (every PE's), the control beside it
        padded = Signal(s.blocks * e * b)
        m.d.comb += padded.eq(Mux(parity, vectors[1], vectors[0]))
        data1 = Signal(e * b, name="dense_inputs1")
        valid1, first1, last1, end1 = (Signal(name=f"dense_{n}1") for n in ("valid", "first", "last", "end"))
        number1 = Signal(range(SLOTS), name="dense_vector1")
        slot1 = Signal(self.slot_bits, name="dense_slot1")
        m.d.sync += [data1.eq(padded.word_select(block, e * b)), valid1.eq(run), first1.eq(block == 0),
                     last1.eq(last_block), end1.eq(last_block & last_slot), number1.eq(number), slot1.eq(slot)]
        full_lanes = s.layer.fan_in - (s.blocks - 1) * e     # lanes of the last block holding an input

        # stage 2: each PE's contribution; stage 3: its row sum, written at the row's last block
        valid2, first2, last2, end2 = (Signal(name=f"dense_{n}2") for n in ("valid", "first", "last", "end"))
        number2 = Signal(range(SLOTS), name="dense_vector2")
        slot2 = Signal(self.slot_bits, name="dense_slot2")
        m.d.sync += [valid2.eq(valid1), first2.eq(first1), last2.eq(last1), end2.eq(end1), number2.eq(number1),
                     slot2.eq(slot1)]
        with m.If(valid2 & end2):
            m.d.sync += flags["dense_done"].bit_select(number2, 1).eq(1)
        sums = []
        for p in self._datapath_pes():
            init = [sum(1 << (d * e + lane) for d in range(len(planes)) for lane in range(e)
                        if s.dense_signs[p, a, d, lane])
                    for a in range(s.slots * s.blocks)]
            weights = memory.Memory(shape=len(planes) * e, depth=s.slots * s.blocks, init=init)
            m.submodules[f"dense_weights{p}"] = weights
            read = weights.read_port()
            m.d.comb += read.addr.eq(address)
            counts = {}
            for d, plane in enumerate(planes):
                for k in range(b):
                    lanes = [(self._bit(data1.word_select(lane, b), k) ^ read.data[d * e + lane])
                             & (1 if lane < full_lanes else ~last1) for lane in range(e)]
                    counts[plane, k] = balanced_sum(m, lanes, name=f"pe{p}_dense_p{plane}_k{k}")
            contribution = Signal(range(self.dense_max + 1), name=f"pe{p}_dense_step")
            m.d.sync += contribution.eq(self._weighted(m, counts, name=f"pe{p}_dense_sum"))
            total = Signal(range(self.dense_max + 1), name=f"pe{p}_dense_total")
            following = Signal(range(self.dense_max + 1), name=f"pe{p}_dense_next")
            m.d.comb += following.eq(Mux(first2, 0, total) + contribution)
            with m.If(valid2):
                m.d.sync += total.eq(following)
            store = memory.Memory(shape=range(self.dense_max + 1), depth=SLOTS << self.slot_bits, init=[])
            m.submodules[f"dense_sums{p}"] = store
            write = store.write_port()
            m.d.comb += [write.addr.eq(Cat(slot2, number2)), write.data.eq(following),
                         write.en.eq(valid2 & last2)]
            sums.append(store)
        return sums

    # -- sparse side ---------------------------------------------------------------------------------

    def _sparse_side(self, m: Module, vectors, flags) -> list:
        """Entry by entry, one cycle counter for every PE; returns each PE's `sparse_sums` memory."""
        s, b, w = self.schedule, self.in_bits, self.word_elements
        lanes, words = s.sparse_lanes, self.load_cycles
        tag_bits = max(1, (len(s.sparse_planes) - 1).bit_length())
        index_bits = max(1, (s.layer.fan_in - 1).bit_length())
        lane_layout = data.StructLayout({"valid": 1, "sign": 1, "index": index_bits})
        word_layout = data.StructLayout({"lanes": data.ArrayLayout(lane_layout, lanes), "plane": tag_bits,
                                         "row_end": 1})
        shift = (w - 1).bit_length()           # W is a power of two: index = word * W + offset
        word_bits = max(1, (words - 1).bit_length())    # a slot's words, padded to a power of two

        number = Signal(range(SLOTS), name="sparse_vector")   # the vector's number mod SLOTS
        cycle = Signal(range(s.sparse_cycles), name="sparse_cycle")
        run = Signal(name="sparse_run")
        last_cycle = cycle == s.sparse_cycles - 1
        m.d.comb += run.eq(flags["gathered"].bit_select(number, 1) & ~flags["sparse_done"].bit_select(number, 1))
        with m.If(run):
            m.d.sync += cycle.eq(cycle + 1)
            with m.If(last_cycle):
                m.d.sync += [cycle.eq(0), number.eq(number + 1), flags["gathered"].bit_select(number, 1).eq(0)]

        # the control beside each stage: valid, the vector's last cycle, the vector's number
        (valid1, end1, number1), (valid2, end2, number2), (valid3, end3, number3) = (
            (Signal(name=f"sparse_valid{n}"), Signal(name=f"sparse_end{n}"),
             Signal(range(SLOTS), name=f"sparse_vector{n}")) for n in (1, 2, 3))
        m.d.sync += [valid1.eq(run), end1.eq(last_cycle), number1.eq(number),
                     valid2.eq(valid1), end2.eq(end1), number2.eq(number1),
                     valid3.eq(valid2), end3.eq(end2), number3.eq(number2)]
        with m.If(valid3 & end3):
            m.d.sync += flags["sparse_done"].bit_select(number3, 1).eq(1)
        sums = []
        for p in self._datapath_pes():
            init = [{"row_end": int(s.sparse_row_end[p, t]), "plane": int(s.sparse_plane[p, t]), "lanes": [
                {"valid": int(s.sparse_valid[p, t, lane]), "sign": int(s.sparse_sign[p, t, lane]),
                 "index": int(s.sparse_index[p, t, lane])} for lane in range(lanes)]}
                    for t in range(s.sparse_cycles)]
            entries = memory.Memory(shape=word_layout, depth=s.sparse_cycles, init=init)
            m.submodules[f"sparse_weights{p}"] = entries
            read = entries.read_port()
            m.d.comb += read.addr.eq(cycle)
            # stage 1 -> 2: each lane's entry addresses its gather copy; the rest waits a cycle
            row_end2 = Signal(name=f"pe{p}_row_end2")
            plane2 = Signal(tag_bits, name=f"pe{p}_plane2")
            m.d.sync += [row_end2.eq(read.data.row_end), plane2.eq(read.data.plane)]
            matches = {k: [] for k in range(b)}
            for lane in range(lanes):
                entry = read.data.lanes[lane]
                # block RAM: its read port is the gather, whatever the index (no LUT multiplexer)
                copy = memory.Memory(shape=w * b, depth=SLOTS << word_bits, init=[],
                                     attrs={"ram_style": "block"})
                m.submodules[f"gather{p}_{lane}"] = copy
                write, gather = copy.write_port(), copy.read_port()
                m.d.comb += [write.addr.eq(Cat(_exactly(self._load_word, word_bits), self._load_slot)),
                             write.data.eq(self._load_data[:w * b]), write.en.eq(self._loading),
                             gather.addr.eq(Cat(_exactly(entry.index >> shift, word_bits), number1))]
                held = Signal(lane_layout, name=f"pe{p}_lane{lane}_entry2")
                m.d.sync += held.eq(entry)
                offset = held.index & (w - 1) if w > 1 else Const(0)
                element = gather.data.word_select(offset, b)
                for k in range(b):
                    matches[k].append(held.valid & (self._bit(element, k) ^ held.sign))
            counts = {k: balanced_sum(m, bits, name=f"pe{p}_sparse_k{k}") for k, bits in matches.items()}
            # the cycle's plane picks the weights 2 R_i Q_k of its counts
            contribution = Signal(range(self.sparse_max + 1), name=f"pe{p}_sparse_step")
            row_end3 = Signal(name=f"pe{p}_row_end3")
            weighted = Const(0)
            for c, plane in enumerate(s.sparse_planes):
                option = self._weighted(m, {(plane, k): count for k, count in counts.items()},
                                        name=f"pe{p}_sparse_p{plane}")
                weighted = option if c == 0 else Mux(plane2 == c, option, weighted)
            m.d.sync += [contribution.eq(weighted), row_end3.eq(row_end2)]
            # stage 4: the row sum, written at the row's last entry word
            total = Signal(range(self.sparse_max + 1), name=f"pe{p}_sparse_total")
            fresh = Signal(init=1, name=f"pe{p}_sparse_fresh")        # the next word starts a row
            row = Signal(range(s.slots + 1), name=f"pe{p}_sparse_row")
            following = Signal(range(self.sparse_max + 1), name=f"pe{p}_sparse_next")
            m.d.comb += following.eq(Mux(fresh, 0, total) + contribution)
            store = memory.Memory(shape=range(self.sparse_max + 1), depth=SLOTS << self.slot_bits, init=[])
            m.submodules[f"sparse_sums{p}"] = store
            write = store.write_port()
            m.d.comb += [write.addr.eq(Cat(_exactly(row, self.slot_bits), number3)), write.data.eq(following),
                         write.en.eq(valid3 & row_end3)]
            with m.If(valid3):
                m.d.sync += [total.eq(following), fresh.eq(row_end3), row.eq(row + row_end3)]
                with m.If(end3):
                    m.d.sync += [row.eq(0), fresh.eq(1)]
            sums.append(store)
        return sums

    # -- combine -------------------------------------------------------------------------------------

    def _combine(self, m: Module, dense_sums, sparse_sums, flags):
        """Slot by slot, every PE at once, once both sides are done with the oldest vector: the
        row's level (or score) into the output register; then the vector leaves."""
        s, layer = self.schedule, self.layer
        acc_max = self.dense_max + self.sparse_max
        number = Signal(range(SLOTS), name="combine_vector")
        slot = Signal(self.slot_bits, name="combine_slot")
        active = Signal(name="combining")
        valid1, end1 = Signal(name="combine_valid1"), Signal(name="combine_end1")
        number1 = Signal(range(SLOTS), name="combine_vector1")
        slot1 = Signal(self.slot_bits, name="combine_slot1")
        done = flags["dense_done"] & (flags["sparse_done"] if sparse_sums is not None else Const((1 << SLOTS) - 1, SLOTS))
        # the output register is free, or its vector leaves now (the first write comes 2 cycles later)
        start = done.bit_select(number, 1) & (~self.o.valid | self.o.ready) & ~active & ~valid1
        with m.If(start):
            m.d.sync += active.eq(1)
        with m.If(active):
            m.d.sync += slot.eq(slot + 1)
            with m.If(slot == s.slots - 1):
                m.d.sync += [slot.eq(0), active.eq(0), number.eq(number + 1)]
        m.d.sync += [valid1.eq(active), end1.eq(slot == s.slots - 1), number1.eq(number), slot1.eq(slot)]

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(valid1 & end1):
            m.d.sync += [self.o.valid.eq(1), flags["dense_done"].bit_select(number1, 1).eq(0),
                         flags["sparse_done"].bit_select(number1, 1).eq(0)]

        # the output register as plain bits, written a row at a time: a registered array view written
        # element by element lost all elements but one in synth_ecp5 (docs/folded.md)
        output = Signal(len(Value.cast(self.o.payload)), name="output")
        m.d.comb += Value.cast(self.o.payload).eq(output)
        if layer.is_last:
            constant_width = max(self.acc_width, max(abs(c) for c in self.row_constants).bit_length() + 1)
        else:
            constant_width = _unsigned_width(acc_max + 1) + 1
            levels = layer.thresholds.shape[1]
        for p in self._datapath_pes():
            reads = []
            for store in [dense_sums[p]] + ([sparse_sums[p]] if sparse_sums is not None else []):
                read = store.read_port()
                m.d.comb += read.addr.eq(Cat(slot, number))
                reads.append(read.data)
            total = Signal(range(acc_max + 1), name=f"pe{p}_total")
            m.d.comb += total.eq(sum(reads[1:], reads[0]))
            rows = [int(r) for r in s.rows[p]]
            if layer.is_last:
                init = [self.row_constants[r] if r >= 0 else 0 for r in rows]
                constants = memory.Memory(shape=signed(constant_width), depth=s.slots, init=init)
                m.submodules[f"constants{p}"] = constants
                read = constants.read_port()
                m.d.comb += read.addr.eq(slot)
                result = Signal(signed(self.acc_width), name=f"pe{p}_score")
                m.d.comb += result.eq(total + read.data)
            else:
                # level = number of m with Y >= T_m, i.e. total >= T_m - C (clamped to 0 .. acc_max + 1)
                def clamp(t):
                    return min(max(t, 0), acc_max + 1)
                shape = data.ArrayLayout(constant_width, levels)
                init = [[clamp(int(layer.thresholds[r, n]) - self.row_constants[r]) if r >= 0 else 0
                         for n in range(levels)] for r in rows]
                constants = memory.Memory(shape=shape, depth=s.slots, init=init)
                m.submodules[f"constants{p}"] = constants
                read = constants.read_port()
                m.d.comb += read.addr.eq(slot)
                result = Signal(layer.output_code.bits, name=f"pe{p}_level")
                m.d.comb += result.eq(sum(total >= read.data[n] for n in range(levels)))
            for index, row in enumerate(rows):
                if row >= 0:
                    with m.If(valid1 & (slot1 == index)):
                        m.d.sync += output.word_select(row, len(result)).eq(result)
