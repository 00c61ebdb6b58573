"""How closely the integer golden model follows the trained float model on a test set.

The float model is the trained net in evaluation mode (exact sign, frozen masks and activation
scales, ratios rounded as export stores them); the golden model runs the exported layout in
integers. Both see the same pixel codes.
"""

from dataclasses import dataclass

import numpy as np

from . import golden
from .data import Dataset
from .export import pixel_codes
from .layout import Network
from .nets import Net
from .training import predict


@dataclass(frozen=True)
class Agreement:
    images: int
    same_class: float        # fraction of images where golden and float classes are equal
    float_accuracy: float
    golden_accuracy: float

    @property
    def accuracy_gap_points(self) -> float:
        return 100 * abs(self.float_accuracy - self.golden_accuracy)

    def summary(self) -> str:
        return (f"golden = float class on {100 * self.same_class:.2f} % of {self.images} test images; "
                f"accuracy float {100 * self.float_accuracy:.2f} %, golden {100 * self.golden_accuracy:.2f} %")


def measure(net: Net, network: Network, data: Dataset) -> Agreement:
    float_classes = predict(net, data.test_x)
    golden_classes = golden.run(network, pixel_codes(network, data.test_x)).classes.numpy()
    return Agreement(len(data.test_y), float(np.mean(float_classes == golden_classes)),
                     float(np.mean(float_classes == data.test_y)),
                     float(np.mean(golden_classes == data.test_y)))
