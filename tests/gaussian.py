"""Test helpers: random covariances and Monte Carlo averages over Gaussian fields."""
import numpy as np
from scipy.special import erf as _erf

MC_SAMPLES = 10**7


def random_covariance(dim, rank=None, rng=None, scale=1.0):
    """Gram matrix of `dim` random vectors in R^rank (singular when rank < dim)."""
    rng = np.random.default_rng(rng)
    rank = dim if rank is None else rank
    X = rng.standard_normal((dim, rank)) * rng.uniform(0.3, 1.5, size=(dim, 1)) * scale
    return X @ X.T / rank


def factor(C):
    """L with L Lᵀ = C, also for singular C."""
    w, V = np.linalg.eigh(C)
    return V * np.sqrt(np.clip(w, 0.0, None))


def mc_average(C, fn, n=MC_SAMPLES, seed=0, chunk=10**6):
    """(mean, standard error) of fn(x) for x ~ N(0, C); fn maps (chunk, dim) -> (chunk,) or (chunk, p)."""
    rng = np.random.default_rng(seed)
    L = factor(np.asarray(C, float))
    total = total2 = 0.0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        x = rng.standard_normal((m, L.shape[0])) @ L.T
        y = fn(x)
        total = total + y.sum(axis=0)
        total2 = total2 + (y * y).sum(axis=0)
        done += m
    mean = total / n
    return mean, np.sqrt(np.maximum(total2 / n - mean**2, 0.0) / n)


def g(act, x):
    if act == "erf":
        return _erf(x / np.sqrt(2.0))
    if act == "relu":
        return np.maximum(x, 0.0)
    return x


def g_prime(act, x):
    if act == "erf":
        return np.sqrt(2.0 / np.pi) * np.exp(-0.5 * x * x)
    if act == "relu":
        return (x > 0).astype(float)
    return np.ones_like(x)
