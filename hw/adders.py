"""Balanced adder trees built in Python, with optional pipeline registers between levels.

A single `sum()` over hundreds of terms makes Amaranth build a linear chain of additions and
recurse for each (1024 bits: `RecursionError`, or minutes with a raised limit). Pairing terms
level by level instead keeps the expression depth at log2(N) and names every intermediate signal
`{name}_l{level}_{index}` (every `name_every`-th level, and every registered level and the root,
since a signal per node of a 1000-input tree slows elaboration), so a waveform shows the tree. Levels past the root (a single item
carried through) exist only to hold extra pipeline registers.

Pipelining: `registered_levels` lists the levels whose outputs are registers (clocked by `domain`
and updated only while `enable` is high, so a stalled stream holds its data); latency is the
number of such levels. Data registers take no reset (here and in every datapath of hbnn): the
`valid` beside them says whether they hold anything, and a reset net to every flip-flop of a
core was the critical path of a fully pipelined core on its own clock (4.4 ns of routing). `spread(stages, depth)` places `stages` registers evenly over a tree of
`depth` levels.

Subtraction: a term may be `Negated(value)`. By default it enters the tree as `-value`, which
yosys builds as a negation chain of its own feeding the add. With `subtract=True` the tree pairs
each negated term with a positive one where it can and subtracts (`a - b`: one carry chain), and
adds two negated terms into a negated sum, negating only a negated root: with every level a
register stage (fully pipelined designs) a negation in front of an add was two chains in one
cycle, the critical path of the digits MLP's first layer on the ECP5-85F.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Module, Shape, Signal, Value


@dataclass(frozen=True)
class Negated:
    """A term of `balanced_sum` to subtract (module docstring)."""
    value: Value


def tree_depth(count: int) -> int:
    """Levels of a balanced binary tree over `count` leaves (0 for one leaf)."""
    depth = 0
    while count > 1:
        count = (count + 1) // 2
        depth += 1
    return depth


def spread(stages: int, depth: int) -> tuple[int, ...]:
    """Levels (1-based) after which to register: `stages` evenly spaced over `depth` levels, the last
    one at the output. With more stages than levels, the extra registers follow the output
    (levels depth+1, depth+2, ...), so trees of any size can share one latency."""
    if not isinstance(stages, int) or stages < 0:
        raise ValueError(f"Pipeline stages must be a non-negative integer, not {stages!r}")
    if stages <= depth:
        return tuple(round(depth * (s + 1) / stages) for s in range(stages))
    return tuple(range(1, stages + 1))


def balanced_sum(m: Module, terms: list, *, name: str, registered_levels=(), domain: str = "sync",
                 enable: Value | None = None, name_every: int = 1, subtract: bool = False) -> Value:
    """Sum of `terms` (Amaranth values, signed or unsigned, or `Negated` ones) as a balanced tree;
    see module docstring."""
    if not terms:
        return Value.cast(0)
    # each item: (value, negated) where the item stands for -value when negated
    items = [(Value.cast(t.value), True) if isinstance(t, Negated) else (Value.cast(t), False) for t in terms]
    if not subtract:
        items = [(-value if negated else value, False) for value, negated in items]
    level = 0
    registered = set(registered_levels)
    last_register = max(registered, default=0)
    # keep going past the root while registers remain, so every tree has the requested latency
    while len(items) > 1 or level < last_register:
        level += 1
        if subtract:
            items = _interleaved(items)
        pairs = [_combine(items[index], items[index + 1]) for index in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            pairs.append(items[-1])
        if len(pairs) == 1 and pairs[0][1]:
            pairs = [(-pairs[0][0], False)]     # a negated root: all its terms were negated
        if level % name_every and level not in registered and len(pairs) > 1:
            items = pairs  # stay an expression: fewer netlist objects for wide trees
            continue
        items = []
        for index, (expression, negated) in enumerate(pairs):
            signal = Signal(Shape.cast(expression.shape()), name=f"{name}_l{level}_{index}", reset_less=True)
            _drive(m, signal, expression, registered=level in registered, domain=domain, enable=enable)
            items.append((signal, negated))
    value, negated = items[0]
    return -value if negated else value


def _interleaved(items: list) -> list:
    """Positive and negated items alternating (so pairs subtract), the rest after them."""
    positive = [item for item in items if not item[1]]
    negated = [item for item in items if item[1]]
    paired = min(len(positive), len(negated))
    mixed = [item for pair in zip(positive[:paired], negated[:paired]) for item in pair]
    return mixed + positive[paired:] + negated[paired:]


def _combine(left: tuple, right: tuple) -> tuple:
    """Two items as one: a sum, a difference, or the sum of two negated values, negated."""
    (a, a_negated), (b, b_negated) = left, right
    if a_negated == b_negated:
        return a + b, a_negated
    positive, negative = (b, a) if a_negated else (a, b)
    return positive - negative, False


def _drive(m: Module, signal: Signal, expression, *, registered: bool, domain: str, enable) -> None:
    """`signal` = `expression`, as a wire or as a register of `domain` loaded while `enable`."""
    if not registered:
        m.d.comb += signal.eq(expression)
    elif enable is None:
        m.d[domain] += signal.eq(expression)
    else:
        with m.If(enable):
            m.d[domain] += signal.eq(expression)


def signed_digits(constant: int) -> list[tuple[int, int]]:
    """Canonical signed-digit form of `constant`: (sign, shift) pairs with
    constant = sum(sign * 2**shift), no two adjacent shifts, and the fewest nonzero digits.

    A constant multiply written as `x * c` reaches yosys as a `$mul`, which the ECP5 and iCE40 flows
    map to DSP blocks (285 MULT18X18D for the digits MLP); shifted copies of x are free wires, so
    x * c = sum(sign * (x << shift)) costs only the adds, which join the surrounding adder tree.
    Example: 38 = 2**5 + 2**3 - 2**1 -> [(-1, 1), (1, 3), (1, 5)].
    """
    digits, shift = [], 0
    while constant:
        if constant & 1:
            digit = 2 - (constant & 3)          # +1 if ...01, -1 if ...11
            digits.append((digit, shift))
            constant -= digit
        constant >>= 1
        shift += 1
    return digits


def constant_product_terms(value: Value, constant: int) -> list:
    """Terms whose sum is value * constant (see `signed_digits`): shifted copies, `Negated` where
    the digit is -1, to be added by `balanced_sum` with the other terms of a sum."""
    terms = []
    for sign, shift in signed_digits(constant):
        shifted = value.shift_left(shift) if shift else value
        terms.append(shifted if sign > 0 else Negated(shifted))
    return terms


def count_fours(m: Module, bits: list, *, name: str, registered: bool, domain: str = "sync",
                enable: Value | None = None) -> list[Value]:
    """Each group of four bits as its count (0-4 in 3 bits), every output bit one LUT4 of the
    group's bits; a last group of 1-3 bits as a 1- or 2-bit count. With `registered`, the counts
    are registers (one LUT level between flip-flops).

    Why: a tree of 2-input adds spends its first two levels on 1-bit and 2-bit adds. As carry
    chains (what yosys makes of a registered `$add`) each costs a CCU2C plus the feed-in CCU2C
    nextpnr-ecp5 puts before every chain: 14 LUT4 sites per four bits, against 3 LUT4s here:

        c0 = a ^ b ^ c ^ d,   c1 = (a & b) ^ (c & d) ^ ((a ^ b) & (c ^ d)),   c2 = a & b & c & d
    """
    counts = []
    for start in range(0, len(bits), 4):
        group = [Value.cast(bit) for bit in bits[start:start + 4]]
        if len(group) == 1:
            expression = group[0]
        elif len(group) == 2:
            a, b = group
            expression = Cat(a ^ b, a & b)
        elif len(group) == 3:
            a, b, c = group
            expression = Cat(a ^ b ^ c, (a & b) | (a & c) | (b & c))
        else:
            a, b, c, d = group
            expression = Cat(a ^ b ^ c ^ d, (a & b) ^ (c & d) ^ ((a ^ b) & (c ^ d)), a & b & c & d)
        signal = Signal(len(expression), name=f"{name}_c{start // 4}", reset_less=True)
        _drive(m, signal, expression, registered=registered, domain=domain, enable=enable)
        counts.append(signal)
    return counts


def popcount_by_fours(m: Module, bits: list, *, name: str, registered_levels=(), domain: str = "sync",
                      enable: Value | None = None, name_every: int = 1) -> Value:
    """popcount(bits) as `count_fours` (level 1) under a balanced sum of the counts (levels 2, 3,
    ...): the same value and the same latency as `balanced_sum` over the bits with the same
    `registered_levels` (the tree is one level shallower, so its last register carries the root)."""
    registered = set(registered_levels)
    counts = count_fours(m, bits, name=name, registered=1 in registered, domain=domain, enable=enable)
    return balanced_sum(m, counts, name=name, registered_levels=[level - 1 for level in registered if level > 1],
                        domain=domain, enable=enable, name_every=name_every)
