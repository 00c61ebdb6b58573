"""Which layouts the generator can build: `check_buildable`, plain data (no amaranth), so the
command line refuses an unbuildable layout before it imports or elaborates anything.

Every valid layout is buildable except a convolution whose stride exceeds its kernel: the line
buffer (`window.Generator`) keeps only the rows and columns a window can reach, so it would have
to drop input it never stores.
"""

from hbnn.model.errors import ConfigError
from hbnn.model.layout import MaxPool, Network


class UnsupportedLayout(ConfigError):
    """The generator cannot build this layout; the message names the layer and the reason."""


def check_buildable(network: Network) -> None:
    """Raise `UnsupportedLayout` naming the first layer this generator cannot build."""
    for index, layer in enumerate(network.layers):
        if isinstance(layer, MaxPool):
            continue
        if layer.kind != "dense" and layer.stride > layer.kernel:
            raise UnsupportedLayout(f"layer {index} ({layer.kind}): stride {layer.stride} is larger "
                                    f"than kernel {layer.kernel}; the line buffer would skip input")
