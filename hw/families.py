"""The FPGA families hbnn targets: the one list every layer reads (cells, boards, flows, energy).

- `ice40`: Lattice iCE40 (UltraPlus, HX): SB_LUT4 + SB_CARRY logic cells, synthesized by
  `synth_ice40`, placed by nextpnr-ice40;
- `ecp5`: Lattice ECP5: LUT4 and CCU2C carry cells, `synth_ecp5`, nextpnr-ecp5.

Plain data, no amaranth: the command line reads it for its choices.
"""

from hbnn.model.errors import unknown_choice

FAMILIES = ("ice40", "ecp5")


def check_family(family: str) -> str:
    """`family` if hbnn targets it; a `ConfigError` naming the choices otherwise."""
    if family not in FAMILIES:
        raise unknown_choice("FPGA family", family, FAMILIES)
    return family
