"""Forward/backward quantizer pairs of ProxConnect++ (Lu, Yu, Li, Partovi Nia, NeurIPS 2023).

PC++ trains float weights w with a forward quantizer F, used in the forward pass, and a backward
quantizer B whose derivative replaces dF/dw in the backward pass:

    w <- w - eta * B'(w) * grad_l(F(w))

Here every pair acts on one residual bit plane at a time (see `model.residual`), on the plane's
residual u = E / mu measured in units of the plane's scale mu, so that the binary levels are
exactly +-1 as in the papers' [-1, 1] latent box and a schedule means the same on every plane and
layer. `PlaneQuantizer.__call__(u)` returns a tensor whose value is F(u) and whose gradient is B'(u):

    F(u).detach() + B(u) - B(u).detach()

Members (`hbnn.model.config.METHODS`), with `p` the training progress from 0 to 1 that drives every schedule:

- ``bc``   BinaryConnect (Courbariaux et al., 2015): F = sign, B = identity (straight-through).
- ``pc``   ProxConnect (Dockhorn et al., 2021): F = P_mu(u) = clamp(u + mu*sign(u), -1, 1), B = identity;
           mu = mu_end * p grows linearly from 0 (a plain clip) to `pc_mu_end` = 1 (exactly sign).
- ``bnn``  BinaryNet (Hubara et al., 2016): F = sign, B = clamp(u, -1, 1), so B'(u) = 1{|u| <= 1}.
- ``bnn+`` BNN+ (Darabi et al., 2018): F = sign, B = SignSwish_beta, beta = `bnn_plus_beta` = 2, where
           SignSwish_b(x) = 2*sigmoid(b*x)*(1 + b*x*(1 - sigmoid(b*x))) - 1.
- ``bnn++`` BNN++ (Lu et al., 2023): F = B = SignSwish_mu with mu annealed geometrically from
           `bnn_pp_mu_start` = 1 to `bnn_pp_mu_end` = 5, so the forward quantizer tends to sign.
           A larger end is worse, not closer to sign: SignSwish' is negative beyond |u| = 2.4/mu, and
           Adam, which normalizes step sizes, then climbs the loss for most weights (measured on the
           digits MLP at 1.4 bits: mu_end = 5 gives 94-96 %, mu_end = 10 gives 33-35 %).
- ``pq``   ProxQuant (Bai, Wang, Liberty, 2019): the gradient is taken at the float point (F = B =
           identity: the training forward pass uses the float weights), and after every optimizer step
           a proximal step of the W-shaped regularizer pulls each weight towards its residual
           quantization Q(w): w <- Q + sign(w - Q) * max(|w - Q| - lam, 0), with
           lam = `pq_lambda_end` * p * mean|w| and `pq_lambda_end` = 0.05.

The schedules above are our choice where the papers leave them to the experiment; each is a
parameter of `hbnn.model.config.MethodConfig`. Evaluation and export always use exact sign (sign(0) = +1).
"""

import torch

from .config import MethodConfig
from .sign import sign


def sign_swish(x: torch.Tensor, beta: float) -> torch.Tensor:
    """SignSwish_beta(x) = 2 sigma(beta x) (1 + beta x (1 - sigma(beta x))) - 1 (Darabi et al.).

    Its derivative is beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x)).
    """
    s = torch.sigmoid(beta * x)
    return 2 * s * (1 + beta * x * (1 - s)) - 1


def prox_clip(x: torch.Tensor, mu: float) -> torch.Tensor:
    """P_mu(x) = clamp(x + mu sign(x), -1, 1): ProxConnect's forward quantizer."""
    return torch.clamp(x + mu * sign(x), -1.0, 1.0)


def straight_through(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """The value of `forward` with the gradient of `backward`."""
    return forward.detach() + backward - backward.detach()


class PlaneQuantizer:
    """F and B of one method at training progress `progress` (0..1), applied to a plane residual."""

    def __init__(self, method: MethodConfig, progress: float = 0.0):
        self.method = method
        self.progress = float(min(max(progress, 0.0), 1.0))

    @property
    def float_forward(self) -> bool:
        """True for ProxQuant, whose training forward pass uses the float weights themselves."""
        return self.method.name == "pq"

    def bnn_pp_mu(self) -> float:
        m = self.method
        return m.bnn_pp_mu_start * (m.bnn_pp_mu_end / m.bnn_pp_mu_start) ** self.progress

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        name = self.method.name
        if name == "bc":
            return straight_through(sign(u), u)
        if name == "pc":
            return straight_through(prox_clip(u, self.method.pc_mu_end * self.progress), u)
        if name == "bnn":
            return straight_through(sign(u), torch.clamp(u, -1.0, 1.0))
        if name == "bnn+":
            return straight_through(sign(u), sign_swish(u, self.method.bnn_plus_beta))
        if name == "bnn++":
            return sign_swish(u, self.bnn_pp_mu())
        return u  # pq: identity; the pull towards the quantized point is `proxquant_step`

    def proxquant_lambda(self) -> float:
        return self.method.pq_lambda_end * self.progress


@torch.no_grad()
def proxquant_step(w: torch.Tensor, quantized: torch.Tensor, lam: float) -> None:
    """In place: w <- Q + sign(w - Q) max(|w - Q| - lam mean|w|, 0) (ProxQuant's W-shaped prox)."""
    step = lam * w.abs().mean()
    gap = w - quantized
    w.copy_(quantized + sign(gap) * torch.clamp(gap.abs() - step, min=0.0))
