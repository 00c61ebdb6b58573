"""What a run is configured by: the net, its quantizers, its training, all checked on construction.

Everything here is plain data and imports no torch, so the command line checks every option in a
fraction of a second, before anything slow starts (`hbnn train --weights 1.45` fails at once).
The implementations read these names: `nets.Net` builds a `NetConfig`, `proxconnect` runs a
`MethodConfig`, `allocation` and `residual` take the rule and scale names, `training` a
`TrainConfig`.

- `NetConfig`: data set, layer list, weight mix, activation and pixel bits, PC++ method,
  allocation rule, scale granularity and the ratio grid, each field commented with its default.
- `NETS`: the bundled nets, (data set, net) -> layer list as a function of the width.
- `net_config(dataset, net, ...)`: a bundled net with options; `train_config_for(config)`: its
  training recipe (`RECIPES`, chosen on a validation split).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .bitmix import parse_mix
from .data import DATASETS, SHAPES
from .errors import ConfigError, unknown_choice
from .layout import MAX_ACTIVATION_BITS, MAX_PIXEL_BITS, WEIGHT_KINDS

#: ProxConnect++ forward/backward quantizer pairs (`hbnn.model.proxconnect` gives each formula)
METHODS = ("bc", "pc", "bnn", "bnn+", "bnn++", "pq")
#: which weights get more bits (`hbnn.model.allocation`): entry by entry (the papers' rules) ...
ENTRY_ALLOCATIONS = ("middle-out", "middle-out-residual", "top-down", "bottom-up", "random")
#: ... or one bit count per fan-in position, shared by all outputs (None) or by groups of this many
#: outputs: masks that shared arithmetic can exploit (docs/hardware.md, "Hardware-aware masks")
SHARED_ALLOCATIONS = {"middle-out-column": None, "middle-out-group8": 8}
ALLOCATIONS = ENTRY_ALLOCATIONS + tuple(SHARED_ALLOCATIONS)
#: one scale per bit plane per "tensor", or per output "channel" (`hbnn.model.residual`)
SCALES = ("tensor", "channel")
#: how the gradient crosses the residual planes (`hbnn.model.residual.residual_quantize`): the
#: paper's "single" straight-through estimator through the first plane, or every plane's own
GRADIENTS = ("single", "per-plane")


def check_act_bits(bits: int) -> int:
    if not isinstance(bits, int) or not 0 <= bits <= MAX_ACTIVATION_BITS:
        raise ConfigError(
            f"activation bits must be 1..{MAX_ACTIVATION_BITS} (or 0 for float), not {bits!r}")
    return bits


def check_pixel_bits(bits: int) -> int:
    if not isinstance(bits, int) or not 1 <= bits <= MAX_PIXEL_BITS:
        raise ConfigError(f"pixel bits must be 1..{MAX_PIXEL_BITS}, not {bits!r}")
    return bits


def check_allocation(rule: str) -> str:
    if rule not in ALLOCATIONS:
        raise unknown_choice("allocation", rule, ALLOCATIONS)
    return rule


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise unknown_choice("scale granularity", scale, SCALES)
    return scale


def check_count(what: str, value, *, minimum: int = 1) -> int:
    """`value` if it is an integer of at least `minimum`; `ConfigError` naming `what` otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer of at least {minimum}")
        raise ConfigError(f"{what} must be {kind}, not {value!r}")
    return value


@dataclass(frozen=True)
class MethodConfig:
    """One PC++ method and its schedule parameters (`hbnn.model.proxconnect` explains each)."""

    name: str = "bc"
    pc_mu_end: float = 1.0          # PC: prox strength at the end of the soft phase (1 = exact sign)
    bnn_plus_beta: float = 2.0      # BNN+: SignSwish slope of the backward quantizer
    bnn_pp_mu_start: float = 1.0    # BNN++: SignSwish slope at the start ...
    bnn_pp_mu_end: float = 5.0      # ... and at the end of the soft phase (geometric in between)
    pq_lambda_end: float = 0.5      # PQ: prox strength at the end of the soft phase, per unit of learning rate
    hard_sign_from: float = 0.5     # training progress from which every forward is exact sign
    gradient: str = "single"        # "single" (the paper's) or "per-plane" straight-through

    def __post_init__(self):
        if self.name not in METHODS:
            raise unknown_choice("method", self.name, METHODS)
        if self.gradient not in GRADIENTS:
            raise unknown_choice("gradient", self.gradient, GRADIENTS)
        if not 0.0 < self.hard_sign_from <= 1.0:
            raise ConfigError(f"hard_sign_from must be in (0, 1], not {self.hard_sign_from!r}")


@dataclass(frozen=True)
class LayerSpec:
    kind: str                # "dense", "conv1d" or "conv2d"
    out: int                 # output features or channels
    kernel: int = 1          # square kernel side (conv only)
    stride: int = 1
    padding: int = 0         # on every side, with the previous activation's pad value
    pool: int = 1            # max-pool window and stride after BatchNorm (1 = none)
    binarize: bool = True    # False keeps this layer's weights float

    def __post_init__(self):
        if self.kind not in WEIGHT_KINDS:
            raise unknown_choice("layer kind", self.kind, WEIGHT_KINDS)


@dataclass(frozen=True)
class NetConfig:
    dataset: str
    net: str
    input_shape: tuple[int, ...]          # per image: (C, H, W), (C, L) or (F,)
    num_classes: int
    layers: tuple[LayerSpec, ...]
    weights: str = "1.4"                  # weight mix ("1.4", "70/20/10", "2" ...) or "float"
    act_bits: int = 1                     # hidden activation bits 1..3, 0 = float ReLU
    pixel_bits: int = 4                   # unsigned input precision of the first layer
    method: MethodConfig = field(default_factory=MethodConfig)
    allocation: str = "middle-out"
    scale: str = "tensor"                 # one scale per bit plane per "tensor" or per "channel"
    ratio_bits: int = 6                   # fractional bits of the scale ratios hardware multiplies by
    ratio_digits: int = 0                 # at most this many signed binary digits per weight ratio (0: any)

    def __post_init__(self):
        if self.weights != "float":
            parse_mix(self.weights)
        check_act_bits(self.act_bits)
        check_pixel_bits(self.pixel_bits)
        check_allocation(self.allocation)
        check_scale(self.scale)
        if not isinstance(self.ratio_bits, int) or not 0 <= self.ratio_bits <= 12:
            raise ConfigError(f"ratio bits must be 0..12, not {self.ratio_bits!r}")
        if not isinstance(self.ratio_digits, int) or not 0 <= self.ratio_digits <= 4:
            raise ConfigError(f"ratio digits must be 0..4 (0: unrestricted), not {self.ratio_digits!r}")

    @property
    def is_float(self) -> bool:
        return self.weights == "float"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        data["layers"] = tuple(LayerSpec(**layer) for layer in data["layers"])
        data["method"] = MethodConfig(**data["method"])
        return cls(**data)


def _digits_mlp(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("dense", width), LayerSpec("dense", 10))


def _digits_cnn(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("conv2d", width, kernel=3, padding=1, pool=2),
            LayerSpec("conv2d", 2 * width, kernel=3, padding=1, pool=2),
            LayerSpec("dense", 10))


def _mnist1d_cnn1d(width: int) -> tuple[LayerSpec, ...]:
    # No pooling after the first convolution: the 1-bit net gains about 3 points (2 seeds:
    # 81.1 / 81.3 % against 77.6 / 78.3 % with it); in hardware it costs cycles, not LUTs, except
    # the dense layer's doubled fan-in.
    return (LayerSpec("conv1d", width, kernel=5, padding=2),
            LayerSpec("conv1d", width, kernel=3, padding=1, pool=2),
            LayerSpec("conv1d", width, kernel=3, padding=1, pool=2),
            LayerSpec("dense", 10))


def _mnist1d_mlp(width: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("dense", width), LayerSpec("dense", width), LayerSpec("dense", 10))


#: (data set, net) -> (builder of the layer list from a width, default width, default pixel bits)
NETS = {
    ("digits", "mlp"): (_digits_mlp, 32, 4),
    ("digits", "cnn"): (_digits_cnn, 16, 4),
    ("mnist1d", "cnn1d"): (_mnist1d_cnn1d, 64, 4),
    ("mnist1d", "mlp"): (_mnist1d_mlp, 128, 4),
}
DEFAULT_NET = {"digits": "mlp", "mnist1d": "cnn1d"}


def net_names(dataset: str) -> list[str]:
    return [net for (ds, net) in NETS if ds == dataset]


def make_config(dataset: str, net: str, *, input_shape: tuple[int, ...], num_classes: int,
                width: int | None = None, pixel_bits: int | None = None, **options) -> NetConfig:
    """The registered net `net` for `dataset`, with `options` overriding NetConfig fields."""
    key = (dataset, net)
    if key not in NETS:
        raise unknown_choice(f"net for data set {dataset!r}:", net, net_names(dataset))
    builder, default_width, default_pixel_bits = NETS[key]
    width = default_width if width is None else check_count("width", width)
    layers = builder(width)
    layers = layers[:-1] + (replace(layers[-1], out=num_classes),)
    if options.get("weights") == "float":
        layers = tuple(replace(layer, binarize=False) for layer in layers)
    return NetConfig(dataset=dataset, net=net, input_shape=tuple(input_shape), num_classes=num_classes,
                     layers=layers, pixel_bits=default_pixel_bits if pixel_bits is None else pixel_bits,
                     **options)


def net_config(dataset: str = "digits", net: str | None = None, *, weights: str = "1.4",
               act_bits: int = 1, pixel_bits: int | None = None, method: str = "bc",
               allocation: str = "middle-out", scale: str = "tensor",
               width: int | None = None, ratio_bits: int = 6, ratio_digits: int = 0,
               gradient: str = "single") -> NetConfig:
    """The NetConfig of a bundled (data set, net); `ConfigError` names any bad value. The data set
    is not loaded (its shape is `data.SHAPES`), so this is instant."""
    if dataset not in DATASETS:
        raise unknown_choice("data set", dataset, DATASETS)
    input_shape, num_classes = SHAPES[dataset]
    return make_config(dataset, DEFAULT_NET[dataset] if net is None else net, input_shape=input_shape,
                       num_classes=num_classes, width=width, pixel_bits=pixel_bits, weights=weights,
                       act_bits=act_bits, method=MethodConfig(method, gradient=gradient), allocation=allocation,
                       scale=scale, ratio_bits=ratio_bits, ratio_digits=ratio_digits)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60            # passes over the training set
    batch_size: int = 64
    lr: float = 1e-2            # Adam's peak learning rate, decayed by a cosine to 0
    seed: int = 0               # initial weights, batch order and random masks

    def __post_init__(self):
        check_count("epochs", self.epochs)
        check_count("batch size", self.batch_size)
        check_count("seed", self.seed, minimum=0)
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be positive, not {self.lr!r}")


def checkpoint_name(config: NetConfig, seed: int) -> str:
    """The file name a trained `config` gets by default: every option that tells nets apart."""
    weights = config.weights.replace("/", "-")
    return (f"{config.dataset}-{config.net}-w{weights}-a{config.act_bits}-{config.method.name}"
            f"-{config.allocation}-s{seed}.pt")


@dataclass(frozen=True)
class Recipe:
    """How a bundled net is trained: passes over the training set and Adam's peak learning rate."""

    epochs: int
    lr: float


def weight_class(weights: str) -> str:
    """The recipe class of a weight mix: "float", "1" (binary), "mixed" (1 < bits < 2) or "multi"."""
    if weights == "float":
        return "float"
    bits = parse_mix(weights).average_bits
    return "1" if bits <= 1 else "mixed" if bits < 2 else "multi"


#: (data set, weight class) -> Recipe, chosen on the validation split (`data.validation_split`,
#: never the test set) by `hbnn experiment recipes`: mean validation accuracy over 3 seeds at the
#: class's representative mix (1, 1.4, 2 bits, float), learning rates 1e-2, 3e-2, 1e-1, 3e-1 at the
#: shorter epoch count, then both epoch counts at the best rate. docs/quantization.md has the table.
RECIPES = {
    ("digits", "float"): Recipe(30, 1e-2),
    ("digits", "1"): Recipe(30, 1e-1),
    ("digits", "mixed"): Recipe(60, 1e-1),
    ("digits", "multi"): Recipe(30, 3e-1),
    ("mnist1d", "float"): Recipe(60, 1e-2),
    ("mnist1d", "1"): Recipe(60, 1e-1),
    ("mnist1d", "mixed"): Recipe(60, 1e-1),
    ("mnist1d", "multi"): Recipe(60, 1e-1),
}


def train_config_for(config: NetConfig, epochs: int | None = None, seed: int = 0) -> TrainConfig:
    """The recipe of `config`'s data set and weight class (`RECIPES`), with `epochs` overriding."""
    recipe = RECIPES[config.dataset, weight_class(config.weights)]
    return TrainConfig(epochs=recipe.epochs if epochs is None else epochs, lr=recipe.lr, seed=seed)
