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


@pytest.mark.parametrize("progress", [0.0, 0.3, 1.0])
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
def test_forward_and_gradient_match_formulas(name, forward, gradient, progress):
    method = MethodConfig(name)
    out, grad = forward_and_gradient(method, progress)
    assert torch.allclose(out, forward(U, progress, method), atol=1e-12)
    assert torch.allclose(grad, gradient(U, progress, method), atol=1e-9)


def _mu(method, progress):
    return method.bnn_pp_mu_start * (method.bnn_pp_mu_end / method.bnn_pp_mu_start) ** progress


def test_schedules_reach_their_end_points():
    pc = MethodConfig("pc")
    # straight_through adds u - u, so values agree to rounding, not bit for bit
    assert torch.allclose(PlaneQuantizer(pc, 0.0)(U), torch.clamp(U, -1, 1), atol=1e-12)
    assert torch.allclose(PlaneQuantizer(pc, 1.0)(U), sgn(U), atol=1e-12)  # mu = 1: sign
    bnn_pp = MethodConfig("bnn++", bnn_pp_mu_start=1.0, bnn_pp_mu_end=5.0)
    assert PlaneQuantizer(bnn_pp, 0.0).bnn_pp_mu() == 1.0
    assert PlaneQuantizer(bnn_pp, 1.0).bnn_pp_mu() == pytest.approx(5.0)
    assert PlaneQuantizer(bnn_pp, 0.5).bnn_pp_mu() == pytest.approx(math.sqrt(5.0))
    assert PlaneQuantizer(MethodConfig("pq"), 0.5).proxquant_lambda() == pytest.approx(0.025)


def test_sign_swish_tends_to_sign():
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    assert torch.allclose(sign_swish(x, 40.0), sgn(x), atol=1e-6)
    assert sign_swish(torch.tensor(0.0), 3.0) == 0


def test_proxquant_step_is_a_soft_threshold_towards_the_quantized_point():
    w = torch.tensor([1.0, -1.0, 0.2, 0.0])       # mean |w| = 0.55
    q = torch.tensor([0.5, -0.5, 0.5, 0.5])
    proxquant_step(w, q, lam=0.2)                 # step 0.2 * 0.55 = 0.11
    assert w.tolist() == pytest.approx([0.89, -0.89, 0.31, 0.11])
    w = torch.tensor([0.55, 0.45])
    proxquant_step(w, torch.tensor([0.5, 0.5]), lam=1.0)   # gaps below the step snap onto Q
    assert w.tolist() == [0.5, 0.5]


def test_unknown_method_is_named():
    with pytest.raises(ConfigError, match="unknown method 'xnor'; choose one of: " + ", ".join(METHODS).replace("+", r"\+")):
        MethodConfig("xnor")
