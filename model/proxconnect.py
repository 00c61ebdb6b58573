"""Forward/backward quantizer pairs of ProxConnect++ (Lu, Yu, Li, Partovi Nia, NeurIPS 2023).

PC++ trains latent float weights w with a forward quantizer F, used in the forward pass, and a
backward quantizer B whose derivative replaces dF/dw in the backward pass:

    w <- w - eta * B'(w) * grad_l(F(w))

implemented as `straight_through(F(u), B(u))`: the value of F(u) with the gradient of B(u).

**The box.** The papers' quantizers act on latent weights in [-1, 1] (BinaryConnect clips them
there after every update), and their shapes mean something only there: BNN's B'(u) = 1{|u| <= 1}
and BNN+'s SignSwish slope are designed for that range. hbnn keeps every binarized layer's latent
weights in `LATENT_BOX` = [-1, 1]: they start uniform in the box and are clipped after every
optimizer step (`clip_to_box`). Residual plane n sees its exact residual E_{n-1} in units of its
own box b_n (`model.residual.ResidualCode.boxes`), so every plane's input u_n = E_{n-1} / b_n lies
in [-1, 1] too (without the box, the weights divided by mean|w| put about half of them outside,
where BNN's gradient is zero and SignSwish's slope negative).

**The schedule.** `p` is the training progress from 0 to 1. Up to `hard_sign_from` (0.8) the soft
schedules run on s = p / hard_sign_from; from there on every method's forward is exact sign, so
the net and its BatchNorm statistics finish training under the forward that evaluation, export and
hardware use. In that hard phase the soft methods (PC, BNN++, PQ) take the straight-through
backward (identity); BNN and BNN+ keep their own.

Members (`hbnn.model.config.METHODS`):

- ``bc``   BinaryConnect (Courbariaux et al., 2015): F = sign, B = identity (straight-through).
- ``pc``   ProxConnect (Dockhorn et al., 2021): F = P_mu(u) = clamp(u + mu sign(u), -1, 1), B = identity;
           mu = `pc_mu_end` * s grows linearly from 0 (a plain clip) to 1, where P_1 = sign on the box.
- ``bnn``  BinaryNet (Hubara et al., 2016): F = sign, B = clamp(u, -1, 1), so B'(u) = 1{|u| <= 1}.
- ``bnn+`` BNN+ (Darabi et al., 2018): F = sign, B = SignSwish_beta, beta = `bnn_plus_beta` = 2, where
           SignSwish_b(x) = 2 sigmoid(b x) (1 + b x (1 - sigmoid(b x))) - 1; on the box its slope is
           positive for beta <= 2.4.
- ``bnn++`` BNN++ (Lu et al., 2023): F = B = SignSwish_mu with mu annealed geometrically from
           `bnn_pp_mu_start` = 1 to `bnn_pp_mu_end` = 5 over the soft phase, then exact sign.
- ``pq``   ProxQuant (Bai, Wang, Liberty, 2019): in the soft phase the gradient is taken at the float
           point (F = B = identity: the forward pass uses the float weights), and every update is
           followed by the proximal step of the W-shaped regularizer lambda_t R(w) with the update's
           learning rate eta_t, theta <- prox_{eta_t lambda_t R}(theta - eta_t grad): each weight moves
           towards its residual quantization Q(w) by eta_t lambda_t,
           w <- Q + sign(w - Q) max(|w - Q| - eta_t lambda_t, 0), with the homotopy
           lambda_t = `pq_lambda_end` * s growing linearly. Once lambda_t exceeds about 1 the pull
           beats Adam's step (also about eta_t per update) and the weights settle on Q. In the hard
           phase it trains as BC.

The schedules are our choice where the papers leave them to the experiment; each is a parameter of
`hbnn.model.config.MethodConfig`. Evaluation and export always use exact sign (sign(0) = +1).
"""

import torch

from .config import MethodConfig
from .sign import sign

#: Latent weights of binarized layers live in [-LATENT_BOX, LATENT_BOX].
LATENT_BOX = 1.0


def sign_swish(x: torch.Tensor, beta: float) -> torch.Tensor:
    """SignSwish_beta(x) = 2 sigma(beta x) (1 + beta x (1 - sigma(beta x))) - 1 (Darabi et al.).

    Its derivative is beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x)), negative for
    |beta x| > 2.4.
    """
    s = torch.sigmoid(beta * x)
    return 2 * s * (1 + beta * x * (1 - s)) - 1


def prox_clip(x: torch.Tensor, mu: float) -> torch.Tensor:
    """P_mu(x) = clamp(x + mu sign(x), -1, 1): ProxConnect's forward quantizer."""
    return torch.clamp(x + mu * sign(x), -1.0, 1.0)


def straight_through(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """The value of `forward`, exactly (backward - backward is 0), with the gradient of `backward`."""
    return forward.detach() + (backward - backward.detach())


@torch.no_grad()
def clip_to_box(w: torch.Tensor) -> None:
    """In place: w <- clamp(w, -1, 1), BinaryConnect's clip after every update."""
    w.clamp_(-LATENT_BOX, LATENT_BOX)


class PlaneQuantizer:
    """F and B of one method at training progress `progress` (0..1), applied to a plane input u."""

    def __init__(self, method: MethodConfig, progress: float = 0.0):
        self.method = method
        self.progress = float(min(max(progress, 0.0), 1.0))

    @property
    def hard(self) -> bool:
        """True in the final phase, where every method's forward is exact sign."""
        return self.progress >= self.method.hard_sign_from

    @property
    def soft_progress(self) -> float:
        """s = p / hard_sign_from (capped at 1): what the soft schedules run on."""
        return min(self.progress / self.method.hard_sign_from, 1.0)

    @property
    def float_forward(self) -> bool:
        """True for ProxQuant's soft phase, whose forward pass uses the float weights themselves."""
        return self.method.name == "pq" and not self.hard

    def bnn_pp_mu(self) -> float:
        m = self.method
        return m.bnn_pp_mu_start * (m.bnn_pp_mu_end / m.bnn_pp_mu_start) ** self.soft_progress

    def backward(self, u: torch.Tensor) -> torch.Tensor:
        """B(u) of a sign-forward step: BNN's clip, BNN+'s SignSwish, else identity."""
        name = self.method.name
        if name == "bnn":
            return torch.clamp(u, -1.0, 1.0)
        if name == "bnn+":
            return sign_swish(u, self.method.bnn_plus_beta)
        return u

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        name = self.method.name
        if not self.hard:
            if name == "pc":
                return straight_through(prox_clip(u, self.method.pc_mu_end * self.soft_progress), u)
            if name == "bnn++":
                return sign_swish(u, self.bnn_pp_mu())
            if name == "pq":
                return u  # identity; the pull towards the quantized point is `proxquant_step`
        return straight_through(sign(u), self.backward(u))

    def proxquant_lambda(self) -> float:
        """lambda_t = `pq_lambda_end` * s, per unit of learning rate."""
        return self.method.pq_lambda_end * self.soft_progress


@torch.no_grad()
def proxquant_step(w: torch.Tensor, quantized: torch.Tensor, step: float) -> None:
    """In place: w <- Q + sign(w - Q) max(|w - Q| - step, 0) (ProxQuant's W-shaped prox)."""
    gap = w - quantized
    w.copy_(quantized + sign(gap) * torch.clamp(gap.abs() - step, min=0.0))
