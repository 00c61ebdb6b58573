import pytest
import torch

from hbnn.model.activations import PixelQuantizer, ResidualActivation
from hbnn.model.errors import ConfigError


def test_pixel_codes_round_to_the_grid():
    q = PixelQuantizer(4)
    x = torch.tensor([0.0, 1 / 16, 0.5, 15 / 16, 1.0, 1.5, -0.2])
    assert q.codes(x).tolist() == [0, 1, 8, 14, 15, 15, 0]
    assert torch.equal(q(x), q.codes(x).float())  # the net reads the codes themselves


def test_residual_activation_levels_in_evaluation():
    act = ResidualActivation(2).eval()
    act.running_scales.copy_(torch.tensor([1.0, 0.5]))
    z = torch.tensor([-3.0, -1.0, -0.2, 0.0, 0.7, 1.0, 2.0])
    # a1 = sign(z); a2 = sign(z - a1): levels -1.5, -0.5, 0.5, 1.5 with thresholds -1, 0, 1
    assert act(z).tolist() == [-1.5, -0.5, -0.5, 0.5, 0.5, 1.5, 1.5]


def test_staircase_is_monotone_with_three_bits():
    act = ResidualActivation(3).eval()
    act.running_scales.copy_(torch.tensor([0.8, 0.35, 0.15]))
    z = torch.linspace(-3, 3, 1001)
    out = act(z)
    assert torch.all(out[1:] >= out[:-1])
    assert len(torch.unique(out)) == 8


def test_training_tracks_running_scales_and_clips_the_gradient():
    act = ResidualActivation(1)
    z = torch.tensor([-2.0, -0.5, 0.25, 1.25], requires_grad=True)  # mean |z| = 1.0
    out = act(z)
    assert out.tolist() == [-1.0, -1.0, 1.0, 1.0]
    out.sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0, 0.0]            # 1{|z| <= gamma_1 = 1}
    assert act.running_scales.tolist() == [1.0]               # first batch: copied
    act(torch.tensor([3.0, -3.0]))
    assert act.running_scales.tolist() == pytest.approx([1.2])  # then momentum 0.1


def test_bad_bits_are_named():
    with pytest.raises(ConfigError, match=r"activation bits must be 1..3 \(or 0 for float\), not 4"):
        ResidualActivation(4)
    with pytest.raises(ConfigError, match="pixel bits must be 1..8, not 0"):
        PixelQuantizer(0)
