"""Weight bit mixes: what fraction of a tensor's entries get 1, 2 and 3 bits.

A mix is written either as percentages per bitwidth, `"70/20/10"` (1-bit/2-bit/3-bit, summing to
100; `"80/0/20"` is allowed), or as an average bitwidth that names one of the mixes of Fromm et al.
(NeurIPS 2018, Table 1 and Fig. 3), or as `"1"`, `"2"`, `"3"` for homogeneous binarization.
The entry counts for a tensor of N entries come from rounding the cumulative fractions, so they
always sum to N and are exact whenever the percentages times N are whole numbers.
"""

from dataclasses import dataclass

from .errors import ConfigError
from .layout import MAX_WEIGHT_BITS

#: The paper's named mixes, average bits -> percent of entries with 1, 2, 3 bits.
NAMED_MIXES: dict[str, tuple[int, int, int]] = {
    "1": (100, 0, 0),
    "1.1": (90, 10, 0),
    "1.2": (85, 10, 5),
    "1.3": (70, 30, 0),
    "1.4": (70, 20, 10),
    "1.5": (50, 50, 0),
    "1.6": (60, 20, 20),
    "1.7": (50, 30, 20),
    "1.8": (40, 40, 20),
    "1.9": (40, 30, 30),
    "2": (0, 100, 0),
    "3": (0, 0, 100),
}


@dataclass(frozen=True)
class BitMix:
    """Percent of entries per bitwidth; `percent[b - 1]` is the share with b bits."""

    percent: tuple[int, ...]

    @property
    def max_bits(self) -> int:
        """Highest bitwidth any entry gets (trailing zero shares do not count)."""
        return max(b + 1 for b, p in enumerate(self.percent) if p > 0)

    @property
    def average_bits(self) -> float:
        return sum((b + 1) * p for b, p in enumerate(self.percent)) / 100

    @property
    def name(self) -> str:
        """Canonical text: the paper's name if it has one, else the percentages."""
        for name, percent in NAMED_MIXES.items():
            if percent == self.padded():
                return name
        return "/".join(str(p) for p in self.padded())

    def padded(self) -> tuple[int, ...]:
        return tuple(self.percent) + (0,) * (MAX_WEIGHT_BITS - len(self.percent))

    def counts(self, n: int) -> tuple[int, ...]:
        """Entries per bitwidth for a tensor of `n` entries, by rounding cumulative shares.

        `counts(1000)` of 70/20/10 is (700, 200, 100); the counts always sum to `n`.
        """
        bounds, cumulative = [0], 0
        for p in self.padded():
            cumulative += p
            bounds.append(round(cumulative * n / 100))
        return tuple(hi - lo for lo, hi in zip(bounds, bounds[1:]))


def parse_mix(text: str) -> BitMix:
    """Parse `"1.4"`, `"70/20/10"` or `"2"` into a `BitMix`; anything else is a `ConfigError`."""
    text = str(text).strip()
    if text in NAMED_MIXES:
        return BitMix(NAMED_MIXES[text])
    if "/" not in text:
        raise ConfigError(
            f"unknown weight mix {text!r}; give percentages like 70/20/10 or one of: "
            + ", ".join(NAMED_MIXES))
    parts = text.split("/")
    try:
        percent = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"weight mix {text!r} must be whole percentages like 70/20/10") from None
    if len(percent) > MAX_WEIGHT_BITS:
        raise ConfigError(f"weight mix {text!r} has {len(percent)} bitwidths; at most {MAX_WEIGHT_BITS} "
                          "bits are supported")
    if any(p < 0 for p in percent):
        raise ConfigError(f"weight mix {text!r} has a negative percentage")
    if sum(percent) != 100:
        raise ConfigError(f"weight mix {text!r} sums to {sum(percent)}, not 100")
    return BitMix(percent + (0,) * (MAX_WEIGHT_BITS - len(percent)))
