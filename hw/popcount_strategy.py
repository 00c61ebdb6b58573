"""`popcount_strategy.Strategy`: how every popcount of a design is built.

- `generic`: `popcount.Tree`, a balanced adder tree that yosys maps (about 2 LUT4 per input bit);
- `mapped`: `popcount_mapped.Tree`, placed from the target family's own LUT4 and carry cells
  (about 1.5 logic cells per input bit, of which 1 LUT4 of logic); it needs the FPGA family;
- `cse`: no popcounts at all: each layer is one adder graph shared by all its outputs
  (`mvu_shared`, da4ml's common-subexpression elimination); yosys maps its adds to carry chains.

A strategy is plain data (checked on construction, no amaranth until `tree` builds one), so the
command line checks `--popcount` and `--family` before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from hbnn.model.errors import ConfigError, unknown_choice

from .families import check_family

STRATEGIES = ("generic", "mapped", "cse")


@dataclass(frozen=True)
class Strategy:
    """How popcounts are built. `mapped` needs the FPGA `family` ("ice40" or "ecp5"); with
    `behavioural` its cells are Amaranth logic (for the Amaranth simulator) instead of Instances."""
    name: str = "generic"
    family: str | None = None
    behavioural: bool = False

    def __post_init__(self):
        if self.name not in STRATEGIES:
            raise unknown_choice("popcount strategy", self.name, STRATEGIES)
        if self.name == "mapped":
            if self.family is None:
                raise ConfigError("the mapped popcount strategy needs an FPGA family (ice40 or ecp5): the "
                                  "cells it instantiates")
            check_family(self.family)
        elif self.family is not None:
            raise ConfigError(f"the {self.name} popcount strategy takes no FPGA family, not {self.family!r} "
                              "(it is the same for every family)")

    @property
    def label(self) -> str:
        """`generic`, `cse`, or `mapped-<family>`: names modules and build folders."""
        return self.name if self.family is None else f"{self.name}-{self.family}"

    def tree(self, width: int, *, element_bits: int = 1, registered_levels=(), name_every: int = 1,
             by_fours: bool = False):
        """A popcount component with `popcount.Tree`'s ports (i, o, en) and latency; `by_fours`:
        a generic tree's first level counts four bits in LUTs (mapped trees are carry cells)."""
        if self.name == "generic":
            from .popcount import Tree

            return Tree(width, element_bits=element_bits, registered_levels=registered_levels,
                        name_every=name_every, by_fours=by_fours)
        if self.name == "cse":
            raise ValueError("the cse strategy builds no popcounts (mvu_shared replaces them)")
        from .popcount_mapped import Tree

        return Tree(width, family=self.family, element_bits=element_bits,
                    registered_levels=registered_levels, behavioural=self.behavioural)


GENERIC = Strategy()


def strategy_for(name: str, family: str | None) -> Strategy:
    """The strategy called `name` for a build on `family` (only mapped uses the family)."""
    return Strategy(name, family if name == "mapped" else None)
