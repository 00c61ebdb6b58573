import math

import pytest
import torch

from hbnn.model.errors import ConfigError
from hbnn.model.config import METHODS, MethodConfig
from hbnn.model.proxconnect import PlaneQuantizer, proxquant_step, sign_swish

U = torch.linspace(-3, 3, 241, dtype=torch.float64)


def forward_and_gradient(method: MethodConfig, progress: float):
    u = U.clone().requires_grad_(True)
    out = PlaneQuantizer(method, progress)(u)
    out.sum().backward()
    return out.detach(), u.grad


def sgn(x):
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def sign_swish_derivative(x, beta):
    """Closed form from Darabi et al.: beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x))."""
    return beta * (2 - beta * x * torch.tanh(beta * x / 2)) / (1 + torch.cosh(beta * x))


H = MethodConfig().hard_sign_from  # the default start of the hard-sign phase
SOFT_PHASE = [0.0, 0.3 * H, 0.75 * H]  # the soft schedules run on p / H


@pytest.mark.parametrize("progress", SOFT_PHASE)
@pytest.mark.parametrize("name, forward, gradient", [
    ("bc", lambda u, p, m: sgn(u), lambda u, p, m: torch.ones_like(u)),
    ("pc", lambda u, p, m: torch.clamp(u + m.pc_mu_end * p * sgn(u), -1, 1),
     lambda u, p, m: torch.ones_like(u)),
    ("bnn", lambda u, p, m: sgn(u), lambda u, p, m: (u.abs() <= 1).to(u.dtype)),
    ("bnn+", lambda u, p, m: sgn(u), lambda u, p, m: sign_swish_derivative(u, m.bnn_plus_beta)),
    ("bnn++", lambda u, p, m: 2 * torch.sigmoid(_mu(m, p) * u) * (1 + _mu(m, p) * u * (1 - torch.sigmoid(_mu(m, p) * u))) - 1,
     lambda u, p, m: sign_swish_derivative(u, _mu(m, p))),
    ("pq", lambda u, p, m: u, lambda u, p, m: torch.ones_like(u)),
])
def test_soft_phase_forward_and_gradient_match_formulas(name, forward, gradient, progress):
    method = MethodConfig(name)
    out, grad = forward_and_gradient(method, progress)
    soft = progress / method.hard_sign_from
    assert torch.allclose(out, forward(U, soft, method), atol=1e-12)
    assert torch.allclose(grad, gradient(U, soft, method), atol=1e-9)


def _mu(method, progress):
    return method.bnn_pp_mu_start * (method.bnn_pp_mu_end / method.bnn_pp_mu_start) ** progress


@pytest.mark.parametrize("progress", [H, (1 + H) / 2, 1.0])
@pytest.mark.parametrize("name, gradient", [
    ("bc", lambda u: torch.ones_like(u)),
    ("pc", lambda u: torch.ones_like(u)),
    ("bnn", lambda u: (u.abs() <= 1).to(u.dtype)),
    ("bnn+", lambda u: sign_swish_derivative(u, 2.0)),
    ("bnn++", lambda u: torch.ones_like(u)),
    ("pq", lambda u: torch.ones_like(u)),
])
def test_hard_phase_is_exact_sign_with_each_methods_straight_through_gradient(name, gradient, progress):
    out, grad = forward_and_gradient(MethodConfig(name), progress)
    assert torch.equal(out, sgn(U))
    assert torch.allclose(grad, gradient(U), atol=1e-9)
    assert not PlaneQuantizer(MethodConfig(name), progress).float_forward


def test_bnn_plus_plus_ends_at_sign_even_without_a_hard_phase():
    method = MethodConfig("bnn++", hard_sign_from=1.0)
    last_soft = PlaneQuantizer(method, 0.999)
    assert last_soft.bnn_pp_mu() == pytest.approx(5.0, rel=1e-2)
    assert not torch.equal(last_soft(U), sgn(U))
    assert torch.equal(PlaneQuantizer(method, 1.0)(U), sgn(U))  # the last step


def test_schedules_reach_their_end_points():
    pc = MethodConfig("pc")
    assert torch.allclose(PlaneQuantizer(pc, 0.0)(U), torch.clamp(U, -1, 1), atol=1e-12)
    box = U[U.abs() <= 1]  # on the latent box, mu = 1 is sign
    assert torch.allclose(PlaneQuantizer(pc, 0.9999 * H)(box), sgn(box), atol=1e-3)
    bnn_pp = MethodConfig("bnn++", bnn_pp_mu_start=1.0, bnn_pp_mu_end=5.0)
    assert PlaneQuantizer(bnn_pp, 0.0).bnn_pp_mu() == 1.0
    assert PlaneQuantizer(bnn_pp, H).bnn_pp_mu() == pytest.approx(5.0)
    assert PlaneQuantizer(bnn_pp, H / 2).bnn_pp_mu() == pytest.approx(math.sqrt(5.0))
    assert PlaneQuantizer(MethodConfig("pq", pq_lambda_end=2.0), H / 2).proxquant_lambda() == pytest.approx(1.0)


def test_sign_swish_tends_to_sign():
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    assert torch.allclose(sign_swish(x, 40.0), sgn(x), atol=1e-6)
    assert sign_swish(torch.tensor(0.0), 3.0) == 0


def test_proxquant_step_is_a_soft_threshold_towards_the_quantized_point():
    w = torch.tensor([1.0, -1.0, 0.2, 0.0])
    q = torch.tensor([0.5, -0.5, 0.5, 0.5])
    proxquant_step(w, q, step=0.11)
    assert w.tolist() == pytest.approx([0.89, -0.89, 0.31, 0.11])
    w = torch.tensor([0.55, 0.45])
    proxquant_step(w, torch.tensor([0.5, 0.5]), step=0.1)   # gaps below the step snap onto Q
    assert w.tolist() == [0.5, 0.5]


def test_bad_schedule_settings_are_named():
    with pytest.raises(ConfigError, match="unknown gradient 'both'; choose one of: single, per-plane"):
        MethodConfig("bc", gradient="both")
    with pytest.raises(ConfigError, match="hard_sign_from must be in"):
        MethodConfig("bc", hard_sign_from=0.0)


def test_unknown_method_is_named():
    with pytest.raises(ConfigError, match="unknown method 'xnor'; choose one of: " + ", ".join(METHODS).replace("+", r"\+")):
        MethodConfig("xnor")
