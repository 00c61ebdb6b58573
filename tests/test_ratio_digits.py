"""Weight-plane ratios with few signed binary digits (`--ratio-digits`): cheaper hardware, exact export."""

import re

import numpy as np
import pytest
import torch

from hbnn.model import data
from hbnn.model.agreement import measure
from hbnn.model.errors import ConfigError
from hbnn.model.export import export
from hbnn.model.config import net_config, train_config_for
from hbnn.model.residual import round_ratios
from hbnn.model.training import train


def test_round_ratios_keeps_at_most_d_digits():
    ratios = torch.tensor([0.0, 0.55, 0.27, 1.0, 0.6, 0.74, 0.76, -0.55, 0.01])
    assert (round_ratios(ratios, 6) * 64).tolist() == [0, 35, 17, 64, 38, 47, 49, -35, 1]
    # one digit: the nearest power of two (47 lies nearer 32 than 64, 49 nearer 64)
    assert (round_ratios(ratios, 6, 1) * 64).tolist() == [0, 32, 16, 64, 32, 32, 64, -32, 1]
    # two digits, greedily: 35 -> 32 + 2, 38 -> 32 + 4, 47 -> 32 + 16
    assert (round_ratios(ratios, 6, 2) * 64).tolist() == [0, 34, 17, 64, 36, 48, 48, -34, 1]


def test_ratio_digits_are_checked():
    with pytest.raises(ConfigError, match=re.escape("ratio digits must be 0..4 (0: unrestricted), not 5")):
        net_config("digits", "mlp", ratio_digits=5)


def test_power_of_two_ratios_export_exactly():
    config = net_config("digits", "mlp", weights="1.4", ratio_digits=1, width=8)
    digits = data.load("digits")
    net = train(config, digits, train_config_for(config, epochs=4), progress=False).net
    network = export(net, {"dataset": "digits"})
    for layer in network.weight_layers():
        weights = layer.plane_weights[layer.plane_weights > 0]
        assert np.all((weights & (weights - 1)) == 0), layer.plane_weights   # powers of two
    assert measure(net, network, digits).same_class == 1.0
