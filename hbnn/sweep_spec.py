"""What a sweep runs: one description, from a TOML file or the command line.

    # sweep.toml: every list is an axis of the grid; a sweep runs their product
    dataset = "digits"
    net = "mlp"
    mixes = ["1", "1.4", "2"]          # as `hbnn compare --mixes`: 1.4:random, 1@96 work too
    allocations = ["middle-out"]       # crossed with every heterogeneous mix that names none
    methods = ["bc"]                   # training methods (ProxConnect++ quantizers)
    widths = [16, 32]                  # hidden width / base channels; absent: the net's own
    seeds = 3                          # training seeds per design (seed, seed + 1, ...)
    seed = 0
    boards = ["ulx3s-85f"]
    pipelines = [0]                    # 0, 1, ... or "full"
    popcounts = ["generic"]            # generic, mapped, cse
    folds = [""]                       # "" or "none" (unrolled), "1:4x32,2:4x32", "auto:2000"
    images = 20                        # test images proven bit-exact per design, or "all"
    simulator = "icarus"
    energy = true
    placement_seeds = 1
    core_clock = 0                     # MHz of the core's own PLL clock; 0: the board clock

Designs (mix x allocation x method x width, each trained with every seed) are crossed with
hardware settings (board x pipeline x popcount x fold). Every value is checked, and every program
the sweep will run is found, by `SweepSpec.settings` (through `hbnn.compare.plan`, the checks
`hbnn compare` makes) before any step starts.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from hbnn.model.errors import ConfigError

#: TOML keys whose value is a list (an axis), with the field each fills
AXES = ("mixes", "allocations", "methods", "widths", "boards", "pipelines", "popcounts", "folds")


@dataclass(frozen=True)
class SweepSpec:
    dataset: str = "digits"
    net: str | None = None
    mixes: tuple = ("1", "1.4", "2")
    allocations: tuple = ("middle-out",)
    methods: tuple = ("bc",)
    widths: tuple | None = None
    ratio_digits: int = 0
    seeds: int = 3
    seed: int = 0
    boards: tuple = ("ulx3s-85f",)
    pipelines: tuple = (0,)
    popcounts: tuple = ("generic",)
    folds: tuple = ("",)
    images: int | str = 20
    simulator: str = "icarus"
    energy: bool = True
    placement_seeds: int = 1
    core_clock: float = 0.0

    def designs(self) -> tuple[str, ...]:
        """The mixes as `hbnn compare` names them, each heterogeneous one that names no allocation
        at every allocation (a uniform mix has no allocation to vary)."""
        from hbnn.model.bitmix import parse_mix

        named = []
        for mix in self.mixes:
            text = str(mix).strip()
            bits = text.partition("@")[0]
            if ":" in bits or sum(1 for share in parse_mix(bits).percent if share) == 1:
                named.append(text)
            else:
                mix_part, at, width = text.partition("@")
                named += [f"{mix_part}:{allocation}{at}{width}" for allocation in self.allocations]
        return tuple(named)

    def settings(self, root: str | Path = "build") -> list[Setting]:
        """Every hardware setting as a checked `hbnn.compare.Plan` (one `ConfigError` on any bad
        value or missing program, before any work)."""
        from hbnn import boards
        from hbnn.compare import plan
        from hbnn.hw.fold_schedule import describe_fold, parse_fold

        if not self.boards:
            raise ConfigError("no boards given; name at least one, e.g. ulx3s-85f")
        settings = []
        for board in self.boards:
            for pipeline in self.pipelines:
                for popcount in self.popcounts:
                    for fold in self.folds:
                        checked = plan(dataset=self.dataset, net=self.net, mixes=self.designs(), board=boards.get(board),
                                       width=self.widths, ratio_digits=self.ratio_digits, seed=self.seed,
                                       seeds=self.seeds, images=self.images, simulator=self.simulator, root=root,
                                       energy=self.energy, popcount=popcount, pipeline=pipeline,
                                       placement_seeds=self.placement_seeds, core_mhz=self.core_clock or None,
                                       fold=parse_fold(fold) if fold else None, methods=self.methods)
                        settings.append(Setting(checked, describe_fold(checked.fold) if checked.fold else ""))
        names = [setting.name for setting in settings]
        if len(set(names)) != len(names):
            raise ConfigError(f"the sweep names a hardware setting twice ({', '.join(names)}); give each once")
        return settings


@dataclass(frozen=True)
class Setting:
    """One hardware setting of a sweep: a checked comparison plan and its folding as text."""
    plan: object                       # hbnn.compare.Plan
    fold: str                          # `--fold` text; "" for none

    @property
    def name(self) -> str:
        """Board and what differs from the default build: `ulx3s-85f-mapped-p2`."""
        return f"{self.plan.board.name}{self.plan.build_suffix}"

    @property
    def verilog_name(self) -> str:
        """What the generated Verilog depends on (the family, not the board): `ecp5-mapped-p2`."""
        return f"{self.plan.board.family}{self.plan.build_suffix}"

    def check_inputs(self) -> tuple:
        """The check step's options (hashable: settings with equal ones share the check)."""
        plan = self.plan
        return (("simulator", plan.simulator), ("images", plan.images), ("popcount", plan.strategy.name),
                ("family", plan.board.family), ("pipeline", plan.pipeline), ("fold", self.fold),
                ("seed", plan.seeds[0]))

    def build_inputs(self) -> dict:
        plan = self.plan
        return {"board": asdict(plan.board), "popcount": plan.strategy.name, "pipeline": plan.pipeline,
                "fold": self.fold, "placement_seeds": plan.placement_seeds,
                "core_mhz": None if plan.core_mhz is None else float(plan.core_mhz),
                "energy": plan.energy}


def load(path: str | Path, **overrides) -> SweepSpec:
    """The sweep in TOML file `path`, with `overrides` (fields not None) on top."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no sweep file {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return from_data(document, where=str(path), **overrides)


def from_data(document: dict, *, where: str = "the sweep", **overrides) -> SweepSpec:
    """A `SweepSpec` from TOML data (lists become tuples), every key and type checked."""
    known = {field.name: field for field in fields(SweepSpec)}
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    values = {}
    for key, value in {**document, **{k: v for k, v in overrides.items() if v is not None}}.items():
        if key in AXES:
            value = (value,) if isinstance(value, (str, int, float)) else value
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{where}: {key} must be a list, like [1, 2]")
            if not value:
                raise ConfigError(f"{where}: {key} is empty; give at least one value (or leave the key out "
                                  "for its default)")
            value = tuple(value)
        elif key in ("seeds", "seed", "ratio_digits", "placement_seeds") and (
                not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}")
        elif key == "energy" and not isinstance(value, bool):
            raise ConfigError(f"{where}: energy must be true or false, not {value!r}")
        values[key] = value
    spec = replace(SweepSpec(), **values)
    return replace(spec, mixes=tuple(str(mix) for mix in spec.mixes),
                   folds=tuple("" if str(fold).strip() in ("", "none") else str(fold).strip() for fold in spec.folds))
