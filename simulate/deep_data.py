"""Data sets for the deep-network trainer: arrays in, arrays out (THEORY.md §12).

A ``Dataset`` holds inputs X (n, n_0) and targets Y (n, n_L): one-hot rows for
classification (``labels`` (n,) then holds the class indices), real vectors for
regression. Any arrays can be wrapped with ``classification(X, labels)`` or
``regression(X, Y)``, e.g. MNIST read from disk; ``load_npz`` reads such arrays from a
file. Built in: the Fig. 8 task (``gaussian_targets``) and scikit-learn's bundled digits
set (``digits``, the stand-in for MNIST/CIFAR-10, which cannot be downloaded here).
``corrupt`` shuffles the labels of a fraction p of the examples.
"""
from dataclasses import dataclass, replace

import numpy as np

from odetheory.errors import InputError, check_integer

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Dataset:
    """Inputs X (n, n_0), targets Y (n, n_L); labels (n,) int for classification, else None."""

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray | None
    task: str
    name: str = "arrays"

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def n_in(self):
        return self.X.shape[1]

    @property
    def n_out(self):
        return self.Y.shape[1]


def _finite_matrix(name, A):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise InputError(f"{name} must be a non-empty 2-d array (examples × features), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise InputError(f"{name} has non-finite entries")
    return np.ascontiguousarray(A)


def classification(X, labels, n_classes=None, name="arrays"):
    """Dataset from inputs X (n, n_0) and integer class labels (n,) in 0..n_classes−1 (one-hot targets)."""
    X = _finite_matrix("X", X)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"labels must be {X.shape[0]} integers (one per row of X), got shape {labels.shape}, "
                         f"dtype {labels.dtype}")
    if labels.min() < 0:
        raise InputError("labels must be >= 0")
    n_classes = int(labels.max()) + 1 if n_classes is None else check_integer("n_classes", n_classes, 2)
    if labels.max() >= n_classes:
        raise InputError(f"labels must be < n_classes = {n_classes}")
    labels = labels.astype(np.int64)
    return Dataset(X=X, Y=np.eye(n_classes)[labels], labels=labels, task="classification", name=name)


def regression(X, Y, name="arrays"):
    """Dataset from inputs X (n, n_0) and real targets Y (n, n_L)."""
    X, Y = _finite_matrix("X", X), _finite_matrix("Y", Y)
    if Y.shape[0] != X.shape[0]:
        raise InputError(f"X and Y must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}")
    return Dataset(X=X, Y=Y, labels=None, task="regression", name=name)


def target_covariance(alpha, beta):
    """Σ(α, β) = [[1, α(1−β)], [α(1−β), α²]] of the Fig. 8 targets (paper Eq. 20)."""
    c = alpha * (1.0 - beta)
    return np.array([[1.0, c], [c, alpha * alpha]])


def gaussian_targets(alpha, beta, rng, n=1000, input_dim=10):
    """The Fig. 8 task: x ∈ R^input_dim i.i.d. N(0, 1), targets y ∈ R² ~ N(0, Σ(α, β)) drawn
    independently of x (0 <= α <= 1, 0 <= β <= 1). rng: numpy Generator."""
    for name, x in (("alpha", alpha), ("beta", beta)):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not 0 <= x <= 1:
            raise InputError(f"{name} must be a number in [0, 1], got {x!r}")
    n, input_dim = check_integer("n", n, 1), check_integer("input_dim", input_dim, 1)
    X = rng.standard_normal((n, input_dim))
    z = rng.standard_normal((n, 2))
    # y = z Lᵀ with L the Cholesky factor of Σ, written out (valid also at α = 0 or β = 0)
    c = 1.0 - beta
    Y = np.column_stack((z[:, 0], alpha * (c * z[:, 0] + np.sqrt(max(0.0, 1.0 - c * c)) * z[:, 1])))
    return regression(X, Y, name=f"gaussian targets (α = {alpha:g}, β = {beta:g})")


def digits():
    """scikit-learn's bundled digits (1,797 8×8 images, 10 classes), each pixel standardised
    to zero mean and unit variance over the set (constant pixels stay 0)."""
    from sklearn.datasets import load_digits
    raw = load_digits()
    X = raw.data.astype(float)
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return classification(X, raw.target, 10, name="digits (scikit-learn)")


def load_npz(path):
    """Dataset from an .npz file with X (n, n_0) and either labels (n,) int or Y (n, n_L) real."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the data set: {exc}") from None
    if "X" not in arrays or ("labels" in arrays) == ("Y" in arrays):
        raise InputError(f"{path}: needs an array X and exactly one of labels (classification) or Y (regression)")
    if "labels" in arrays:
        return classification(arrays["X"], arrays["labels"], name=str(path))
    return regression(arrays["X"], arrays["Y"], name=str(path))


def corrupt(data, p, rng):
    """A copy of data with the targets of round(p·n) randomly chosen examples shuffled among
    themselves (labels and one-hot rows for classification, target rows for regression);
    0 <= p <= 1. A shuffled example may keep its label by chance, as in the paper."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise InputError(f"corrupt must be a fraction in [0, 1], got {p!r}")
    m = int(round(p * data.n))
    if m < 2:
        return data
    chosen = rng.choice(data.n, size=m, replace=False)
    order = chosen[rng.permutation(m)]
    Y = data.Y.copy()
    Y[chosen] = data.Y[order]
    labels = None
    if data.labels is not None:
        labels = data.labels.copy()
        labels[chosen] = data.labels[order]
    return replace(data, Y=Y, labels=labels, name=f"{data.name}, {100 * p:g} % of labels shuffled")
