import pytest
import torch

from hbnn.model.allocation import allocate
from hbnn.model.bitmix import parse_mix
from hbnn.model.config import MethodConfig
from hbnn.model.proxconnect import PlaneQuantizer
from hbnn.model.residual import normalized_error, residual_binarize, residual_quantize


def test_hand_worked_example():
    # E0 = [3, -1, 0.5, -2], bits [1, 2, 3, 2]:
    #   mu1 = 6.5 / 4 = 13/8, E1 = [11/8, 5/8, -9/8, -3/8]
    #   mu2 = (5/8 + 9/8 + 3/8) / 3 = 17/24 over entries 1..3, E2 = [-1/12, -5/12, 1/3]
    #   mu3 = 5/12 over entry 2 alone
    t = torch.tensor([3.0, -1.0, 0.5, -2.0], dtype=torch.float64)
    bits = torch.tensor([1, 2, 3, 2], dtype=torch.int8)
    code = residual_binarize(t, bits)
    assert code.scales.flatten().tolist() == pytest.approx([13 / 8, 17 / 24, 5 / 12])
    assert code.signs[:2, 1].tolist() == [-1, 1]  # entry 1: -13/8 then +17/24 (E1 = +5/8)
    assert code.active[:, 1].tolist() == [True, True, False]
    expected = [13 / 8, -13 / 8 + 17 / 24, 13 / 8 - 17 / 24 - 5 / 12, -13 / 8 - 17 / 24]
    assert code.reconstruct().tolist() == pytest.approx(expected)
    assert expected[2] == pytest.approx(0.5)


def test_zero_binarizes_to_plus_scale():
    code = residual_binarize(torch.tensor([0.0, -4.0]), torch.tensor([1, 1]))
    assert code.reconstruct().tolist() == [2.0, -2.0]


def test_channel_scales_are_per_row():
    t = torch.tensor([[1.0, -3.0], [10.0, 10.0]])
    code = residual_binarize(t, torch.ones_like(t, dtype=torch.int8), scale="channel")
    assert code.reconstruct().tolist() == [[2.0, -2.0], [10.0, 10.0]]
    code = residual_binarize(t, torch.ones_like(t, dtype=torch.int8), scale="tensor")
    assert code.reconstruct().tolist() == [[6.0, -6.0], [6.0, 6.0]]


def test_gaussian_errors_match_the_paper():
    t = torch.randn(1 << 16, generator=torch.Generator().manual_seed(0))

    def error(mix, rule="middle-out"):
        return normalized_error(t, residual_binarize(t, allocate(t, parse_mix(mix), rule)).reconstruct())

    # Fromm et al., Fig. 2a: about 0.60, 0.36 and 0.24 at 1, 2 and 3 bits; 0.33 for MO at 1.4.
    assert error("1") == pytest.approx(0.603, abs=0.01)
    assert error("2") == pytest.approx(0.36, abs=0.01)
    assert error("3") == pytest.approx(0.24, abs=0.01)
    assert 0.30 < error("1.4") < 0.35
    assert error("1.4") < error("1")
    for rule in ("top-down", "bottom-up", "random"):
        assert error("1.4") < error("1.4", rule) - 0.05


@pytest.mark.parametrize("scale", ["tensor", "channel"])
def test_training_form_equals_exact_form_under_sign(scale):
    t = torch.randn(50, 30, generator=torch.Generator().manual_seed(1))
    bits = allocate(t, parse_mix("1.6"), "middle-out")
    code = residual_binarize(t, bits, scale)
    trained = residual_quantize(t, bits, PlaneQuantizer(MethodConfig("bc")), scale, ratio_bits=6)
    assert torch.allclose(code.reconstruct_in_units(6), trained, atol=1e-6)
    # in units of mu_ref with ratios on a 1/64 grid: within 1/128 of the exact reconstruction
    exact = code.reconstruct() / code.unit()
    assert (code.reconstruct_in_units(6) - exact).abs().max() <= 3 / 128
    assert torch.equal(code.integer_ratios(6), torch.round(64 * code.scales / code.unit()))


def test_one_plane_per_tensor_is_exactly_plus_minus_one():
    t = torch.randn(10, 7, generator=torch.Generator().manual_seed(3))
    code = residual_binarize(t, torch.ones_like(t, dtype=torch.int8))
    assert torch.equal(code.reconstruct_in_units(6).abs(), torch.ones_like(t))


def box_tensor(shape, seed):
    """Latent weights as training keeps them: uniform in the box [-1, 1]."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1


@pytest.mark.parametrize("scale", ["tensor", "channel"])
@pytest.mark.parametrize("mix", ["1.4", "1.9", "3"])
def test_every_plane_input_lies_in_its_box(scale, mix):
    t = box_tensor((16, 50), seed=5)
    t[0, 0], t[1, 1] = 1.0, -1.0  # the box's corners
    code = residual_binarize(t, allocate(t, parse_mix(mix), "middle-out"), scale)
    boxes = code.boxes()
    assert torch.all(boxes[0] == 1)
    for residual, active, box in zip(code.residuals(t), code.active, boxes):
        assert torch.all((residual.abs() <= box + 1e-12)[active])
        assert torch.all(box > 0)


@pytest.mark.parametrize("gradient", ["single", "per-plane"])
@pytest.mark.parametrize("method, plane_gradient", [
    ("bc", lambda u: torch.ones_like(u)),
    ("bnn+", lambda u: 2 * (2 - 2 * u * torch.tanh(u)) / (1 + torch.cosh(2 * u))),
])
def test_training_gradient_follows_the_estimator(method, plane_gradient, gradient):
    t = box_tensor(400, seed=2)
    bits = allocate(t, parse_mix("1.4"), "middle-out")
    w = t.clone().requires_grad_(True)
    config = MethodConfig(method, gradient=gradient)
    residual_quantize(w, bits, PlaneQuantizer(config), ratio_bits=6, gradient=gradient).sum().backward()
    code = residual_binarize(t, bits)
    ratios, boxes = code.integer_ratios(6) / 64, code.boxes()
    expected = torch.zeros_like(t)
    for n, residual in enumerate(code.residuals(t)):
        # plane n outputs r_n q(u_n) with u_n = E_{n-1} / b_n: d/dT = r_n B'(u_n) / b_n
        expected += ratios[n] / boxes[n] * plane_gradient(residual / boxes[n]) * code.active[n]
        if gradient == "single":
            break  # the paper's estimator: the first plane's gradient for every weight
    assert torch.allclose(w.grad, expected)
    if gradient == "single" and method == "bc":
        assert torch.allclose(w.grad, torch.ones_like(t))  # per tensor: r_1 = b_1 = 1
