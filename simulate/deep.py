"""Fully connected deep networks trained by BP, FA or DFA with mini-batch SGD (THEORY.md §12).

Widths n_0, ..., n_L; weights W_l (n_l, n_{l−1}) for l = 1..L (stored as ``W[l − 1]``),
no biases. Examples are rows: H_0 = X (B, n_0), A_l = H_{l−1} W_lᵀ, H_l = g(A_l) for
l < L; the output is A_L (regression, squared error ½|ŷ − y|²) or softmax(A_L)
(classification, cross-entropy −Σ y log ŷ); the loss is averaged over examples. The
error E = ŷ − Y (B, n_L) is ∂(loss)/∂a_L in both cases. Error signals (B, n_l):

    δa_L = E,    δa_l = (S_l Φ_lᵀ) ⊙ g'(A_l)  for l < L,

with source S_l and feedback Φ_l (n_l, ·) the only difference between the rules:

    bp:   S_l = δa_{l+1},  Φ_l = W_{l+1}ᵀ           (n_l, n_{l+1})
    fa:   S_l = δa_{l+1},  Φ_l = B_l, fixed random  (n_l, n_{l+1})
    dfa:  S_l = E,         Φ_l = F_l, fixed random  (n_l, n_L)

Update W_l ← W_l − (η/B) δa_lᵀ H_{l−1}, the batch average of −η δa_l h_{l−1}ᵀ, with all
signals computed before any layer changes. For bp this is SGD on the loss.

Random streams (``streams``): the data set, the mini-batch order, the initial weights
and the feedback matrices each have their own generator, children of one
``numpy.random.SeedSequence``; the same seeds give the same numbers.
"""
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from odetheory.errors import InputError, check_integer, check_number

from .deep_alignment import accuracy, gradient_alignment, weight_alignment
from .deep_data import Dataset

RULES = ("bp", "fa", "dfa")
LOSSES = ("squared", "cross_entropy")
STREAMS = ("data", "order", "weights", "feedback")


def _tanh_prime(a, h):
    return 1.0 - h * h


def _relu(a):
    return np.maximum(a, 0.0)


def _relu_prime(a, h):
    return a > 0.0


# name: (g, g' as a function of (a, g(a)); None for g' = 1)
ACTIVATIONS = {"tanh": (np.tanh, _tanh_prime), "relu": (_relu, _relu_prime), "linear": (None, None)}


def streams(seed, data_seed=None, order_seed=None, weights_seed=None, feedback_seed=None):
    """Independent generators {data, order, weights, feedback}. Each is child i of
    SeedSequence(s).spawn(4), with s its own seed when given and `seed` otherwise, so
    ``weights_seed=7`` gives the initial weights of ``seed=7`` and changes nothing else."""
    own = dict(data=data_seed, order=order_seed, weights=weights_seed, feedback=feedback_seed)
    out = {}
    for i, name in enumerate(STREAMS):
        s = check_integer(f"{name}_seed" if own[name] is not None else "seed",
                          seed if own[name] is None else own[name])
        out[name] = np.random.default_rng(np.random.SeedSequence(s).spawn(len(STREAMS))[i])
    return out


@dataclass
class DeepNetwork:
    """Weights W[l−1] = W_l (n_l, n_{l−1}), l = 1..L; feedback[l−1] for l = 1..L−1: B_l
    (n_l, n_{l+1}) for fa, F_l (n_l, n_L) for dfa, and for bp the F_l a DFA network would
    use (not used in training; weight alignment of BP is measured against them)."""

    W: list
    feedback: list
    activation: str = "tanh"
    rule: str = "dfa"
    loss: str = "squared"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.rule not in RULES:
            raise InputError(f"unknown rule {self.rule!r}; choose one of {', '.join(RULES)}")
        if self.loss not in LOSSES:
            raise InputError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        self.W = [np.array(w, dtype=float, order="C") for w in self.W]
        self.feedback = [np.array(f, dtype=float, order="C") for f in self.feedback]
        L = len(self.W)
        if L < 1 or len(self.feedback) != L - 1:
            raise InputError(f"need L >= 1 weight matrices and L − 1 feedback matrices, got {L} and "
                             f"{len(self.feedback)}")
        n = self.widths
        for l, w in enumerate(self.W, start=1):
            if w.shape != (n[l], n[l - 1]):
                raise InputError(f"W_{l} has shape {w.shape}, expected {(n[l], n[l - 1])}")
        for l, f in enumerate(self.feedback, start=1):
            shape = (n[l], n[l + 1]) if self.rule == "fa" else (n[l], n[-1])
            if f.shape != shape:
                raise InputError(f"feedback matrix {l} has shape {f.shape}, expected {shape} for {self.rule}")

    @property
    def L(self):
        return len(self.W)

    @property
    def widths(self):
        """(n_0, n_1, ..., n_L)."""
        return (self.W[0].shape[1], *(w.shape[0] for w in self.W))

    def copy(self):
        return DeepNetwork([w.copy() for w in self.W], [f.copy() for f in self.feedback],
                           self.activation, self.rule, self.loss)

    def direct_feedback(self):
        """F_l (n_l, n_L), l = 1..L−1, the matrices of weight alignment (Eq. 18): the feedback
        itself for dfa (and bp), the products B_l B_{l+1} ⋯ B_{L−1} for fa (the paper's
        replacement F_l → F_l F_{l+1} ⋯ F_{L−1}, §2.1)."""
        if self.rule != "fa":
            return list(self.feedback)
        out = [None] * (self.L - 1)
        prod = None
        for l in range(self.L - 1, 0, -1):
            prod = self.feedback[l - 1] if prod is None else self.feedback[l - 1] @ prod
            out[l - 1] = prod
        return out


def draw_network(widths, activation="tanh", rule="dfa", loss="squared", weights_rng=None, feedback_rng=None,
                 init_scale=1.0, feedback_scale=1.0):
    """A DeepNetwork of widths (n_0, ..., n_L), L >= 1: W_l entries ~ N(0, init_scale²/n_{l−1})
    (init_scale = 0: all-zero weights); feedback entries ~ N(0, feedback_scale²/n_l) (so that
    F_l e and B_l δa_{l+1} have the size of BP's W_{l+1}ᵀ δa_{l+1} at init_scale = 1)."""
    widths = [check_integer("width", n, 1) for n in widths]
    if len(widths) < 2:
        raise InputError(f"need at least an input and an output width, got {widths}")
    init_scale = check_number("init_scale", init_scale, 0.0, strict=False)
    feedback_scale = check_number("feedback_scale", feedback_scale, 0.0, strict=True)
    weights_rng = weights_rng if weights_rng is not None else np.random.default_rng(0)
    feedback_rng = feedback_rng if feedback_rng is not None else np.random.default_rng(1)
    L = len(widths) - 1
    W = [init_scale / np.sqrt(widths[l - 1]) * weights_rng.standard_normal((widths[l], widths[l - 1]))
         for l in range(1, L + 1)]
    cols = [widths[l + 1] if rule == "fa" else widths[-1] for l in range(1, L)]
    F = [feedback_scale / np.sqrt(widths[l]) * feedback_rng.standard_normal((widths[l], cols[l - 1]))
         for l in range(1, L)]
    return DeepNetwork(W, F, activation, rule, loss)


# --------------------------------------------------------------------------- forward and backward

def forward(net, X):
    """Pre-activations A_1..A_L (each (B, n_l)) and activities H_0 = X, ..., H_{L−1}."""
    g = ACTIVATIONS[net.activation][0]
    A, H = [], [X]
    for l, w in enumerate(net.W, start=1):
        a = H[-1] @ w.T
        A.append(a)
        if l < net.L:
            H.append(a if g is None else g(a))
    return A, H


def prediction(net, a_L):
    """ŷ (B, n_L): a_L for the squared loss, softmax(a_L) for cross-entropy."""
    if net.loss == "squared":
        return a_L
    z = np.exp(a_L - a_L.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def loss_of(net, a_L, Y):
    """Mean loss over the rows: ½|a_L − y|² (squared) or −Σ y log softmax(a_L) (cross-entropy)."""
    if net.loss == "squared":
        e = a_L - Y
        return 0.5 * float(np.einsum("ij,ij->", e, e)) / len(Y)
    z = a_L - a_L.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -float(np.einsum("ij,ij->", Y, log_p)) / len(Y)


def loss(net, X, Y):
    """Mean loss of net on inputs X (B, n_0) with targets Y (B, n_L)."""
    return loss_of(net, forward(net, X)[0][-1], Y)


def error_signals(net, A, H, E, rule=None):
    """δa_1, ..., δa_L (each (B, n_l)) of `rule` (default: the network's) for pre-activations A,
    activities H and output error E, at the current weights (module docstring)."""
    rule = net.rule if rule is None else rule
    g_prime = ACTIVATIONS[net.activation][1]
    L = net.L
    delta = [None] * L
    delta[L - 1] = E
    for l in range(L - 1, 0, -1):  # layer l = L−1, ..., 1; python index l − 1
        if rule == "bp":
            back = delta[l] @ net.W[l]             # δa_{l+1} W_{l+1}
        elif rule == "fa":
            back = delta[l] @ net.feedback[l - 1].T  # δa_{l+1} B_lᵀ
        else:
            back = E @ net.feedback[l - 1].T         # E F_lᵀ
        if g_prime is not None:
            back *= g_prime(A[l - 1], H[l])
        delta[l - 1] = back
    return delta


def signals(net, X, Y, rule=None):
    """(A, H, E, δa) for a batch: forward pass, error E = ŷ − Y, and the error signals."""
    A, H = forward(net, X)
    E = prediction(net, A[-1]) - Y
    return A, H, E, error_signals(net, A, H, E, rule)


def updates(net, X, Y, rule=None):
    """The batch averages δa_lᵀ H_{l−1} / B (n_l, n_{l−1}), l = 1..L, that SGD subtracts times η;
    for rule bp the gradient of the mean loss with respect to W_l."""
    _, H, _, delta = signals(net, X, Y, rule)
    return [d.T @ h / len(X) for d, h in zip(delta, H)]


def sgd_step(net, X, Y, eta):
    """One SGD step on the batch (X, Y) in place; returns the output error E (B, n_L)."""
    A, H = forward(net, X)
    E = prediction(net, A[-1]) - Y
    delta = error_signals(net, A, H, E)
    step = -eta / len(X)
    for w, d, h in zip(net.W, delta, H):
        w += step * (d.T @ h)
    return E


# --------------------------------------------------------------------------- training

@dataclass
class DeepRun:
    """Observables at the recorded epochs (n_rec,): loss, accuracy (NaN for regression), global
    WA and GA (Eq. 18), layerwise WA (n_rec, L−1) for l = 2..L and GA (n_rec, L−1) for
    l = 1..L−1 (Eq. 19); weights: W_1..W_L per recorded epoch when kept; status 0 (ok) or
    1 (the loss became non-finite, message says when); wall_time: s of training and measuring."""

    epochs: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    wa: np.ndarray
    ga: np.ndarray
    wa_layers: np.ndarray
    ga_layers: np.ndarray
    weights: list = field(default_factory=list)
    status: int = 0
    message: str = ""
    wall_time: float = 0.0
    train_time: float = 0.0

    @property
    def success(self):
        return self.status == 0


def epoch_batches(n, batch):
    """(start, stop) row ranges of the mini-batches of one epoch over n examples; the last may be smaller."""
    return [(s, min(s + batch, n)) for s in range(0, n, batch)]


def train_epoch(net, data, eta, batch, order_rng):
    """One epoch of SGD over data (Dataset) in a fresh random order; returns False if the error
    became non-finite (the weights are then not meaningful)."""
    perm = order_rng.permutation(data.n)
    X, Y = data.X[perm], data.Y[perm]
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is detected below
        for s, t in epoch_batches(data.n, batch):
            E = sgd_step(net, X[s:t], Y[s:t], eta)
    return bool(np.all(np.isfinite(E)))  # a non-finite weight makes every later error non-finite


def observables(net, data):
    """dict of loss, accuracy (NaN for regression), wa, ga, wa_layers (L−1,) for l = 2..L and
    ga_layers (L−1,) for l = 1..L−1 on the whole data set at the current weights; GA compares
    the network's error signals with those of BP at the same weights on the same examples."""
    A, H, E, delta = signals(net, data.X, data.Y)
    delta_bp = delta if net.rule == "bp" else error_signals(net, A, H, E, "bp")
    wa, wa_layers = weight_alignment(net.W, net.direct_feedback())
    ga, ga_layers = gradient_alignment(delta[:-1], delta_bp[:-1])
    acc = accuracy(A[-1], data.labels) if data.labels is not None else np.nan
    return dict(loss=loss_of(net, A[-1], data.Y), accuracy=acc, wa=wa, ga=ga, wa_layers=wa_layers,
                ga_layers=ga_layers)


def train(net, data, eta, batch, epochs, order_rng, record, keep_weights=False, blas_threads=1):
    """Train net in place for `epochs` epochs and record the observables after each epoch in
    `record` (sorted epochs in 0..epochs; 0 is before training) on the whole data set.

    blas_threads: BLAS threads while training (default 1: at these sizes a second thread
    gains little alone and costs up to 10× when the cores are busy, e.g. with parallel
    runs in processes); None leaves the BLAS setting as it is."""
    if not isinstance(data, Dataset):
        raise InputError("data must be a simulate.deep_data.Dataset")
    if data.n_in != net.widths[0] or data.n_out != net.widths[-1]:
        raise InputError(f"data has {data.n_in} inputs and {data.n_out} outputs, the network "
                         f"{net.widths[0]} and {net.widths[-1]}")
    eta = check_number("eta", eta, 0.0, True)
    batch = check_integer("batch", batch, 1)
    epochs = check_integer("epochs", epochs, 0)
    record = sorted({check_integer("record epoch", int(e), 0) for e in record})
    if record and record[-1] > epochs:
        raise InputError(f"record epochs must be <= epochs = {epochs}")
    rows, weights = [], []
    start = time.perf_counter()
    spent = 0.0
    status, message, epoch = 0, "", 0

    def measure():
        rows.append(observables(net, data))
        if keep_weights:
            weights.append([w.copy() for w in net.W])

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        if record and record[0] == 0:
            measure()
        for target in (e for e in record if e > 0):
            t0 = time.perf_counter()
            while epoch < target:
                epoch += 1
                if not train_epoch(net, data, eta, batch, order_rng):
                    status, message = 1, f"the error became non-finite in epoch {epoch}"
                    break
            spent += time.perf_counter() - t0
            if status:
                break
            measure()
    n_rec = len(rows)
    L = net.L
    get = lambda k: np.array([r[k] for r in rows], dtype=float)  # noqa: E731
    return DeepRun(epochs=np.array(record[:n_rec], dtype=np.int64), loss=get("loss"), accuracy=get("accuracy"),
                   wa=get("wa"), ga=get("ga"),
                   wa_layers=np.array([r["wa_layers"] for r in rows], dtype=float).reshape(n_rec, L - 1),
                   ga_layers=np.array([r["ga_layers"] for r in rows], dtype=float).reshape(n_rec, L - 1),
                   weights=weights, status=status, message=message,
                   wall_time=time.perf_counter() - start, train_time=spent)
