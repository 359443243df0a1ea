"""Functions that draw random numbers in every form s2sad supports, returning what they drew
(scaled by their parameters, so that each result has a derivative or is a plain draw)."""

import numpy as np


def legacy_shorthands(mu, n):
    """np.random.randn and np.random.rand: standard_normal and random with the sizes as arguments."""
    a = np.random.randn(2, 3) * mu
    b = np.random.randn() * mu + np.random.randn(n)
    c = np.random.rand(n) * mu + np.random.rand()
    return a, b, c, np.random.rand(2, 2) * mu


def legacy_draws(mu, sigma, lo, hi, n):
    a = np.random.normal(mu, sigma)             # one number
    b = np.random.normal(mu, sigma, 3)          # an odd count: a Gaussian is left cached
    c = np.random.standard_normal((2, 3)) * mu
    d = np.random.uniform(lo, hi, n)
    e = np.random.standard_normal() * mu
    f = np.random.random((2, 2)) * lo
    g = np.random.uniform(lo, hi)
    h = np.random.normal(loc=mu, size=n)
    i = np.random.uniform(high=hi, size=(2,))
    j = np.random.random() + np.random.random(n) * hi
    k = np.random.normal(mu) + np.random.standard_normal(n)
    return a, b, c, d, e, f, g, h, i, j, k


def legacy_array_draws(mu, sigma, lo, hi):
    a = np.random.normal(mu, sigma)             # broadcast shape of the parameters
    b = np.random.normal(mu, 2.0, (4, 3))       # parameters broadcast to the size
    c = np.random.uniform(lo, hi)
    d = np.random.uniform(lo, 1.5, size=(2, 3))
    e = np.random.normal(0.5, sigma, (2, 5))
    return a, b, c, d, e


def seeded_draws(x, seed):
    np.random.seed(seed)
    a = np.random.normal(x, 1.0, 3)
    np.random.seed(3)
    b = np.random.uniform(0.0, x, 2)
    return a, b


def generator_draws(rng, mu, sigma, lo, hi, n):
    a = rng.normal(mu, sigma)
    b = rng.normal(mu, sigma, 3)
    c = rng.standard_normal((2, 3)) * mu
    d = rng.uniform(lo, hi, n)
    e = rng.standard_normal() * mu
    f = rng.random((2, 2)) * lo
    g = rng.uniform(lo, hi)
    h = rng.normal(loc=mu, size=n)
    i = rng.uniform(high=hi, size=(2,))
    j = rng.random() + rng.random(n) * hi
    return a, b, c, d, e, f, g, h, i, j


def generator_array_draws(rng, mu, sigma, lo, hi):
    a = rng.normal(mu, sigma)
    b = rng.normal(mu, 2.0, (4, 3))
    c = rng.uniform(lo, hi)
    d = rng.uniform(lo, 2.5, size=(2, 3))
    e = rng.normal(0.5, sigma, (2, 5))
    return a, b, c, d, e


def made_generators(mu, seed):
    rng = np.random.default_rng(seed)
    other = np.random.default_rng(4)
    return rng.normal(mu, 2.0, 3), other.uniform(0.0, mu, 2), rng.random(2) * mu, rng.standard_normal() * mu


def integer_draws(rng, x, s, n, k):
    p = rng.permutation(n)
    q = rng.permutation(x)  # (a shuffled copy: the derivative of a gather)
    c = rng.choice(n, k, replace=False)
    d = rng.choice(x, 4)
    e = rng.choice(x, replace=False)
    i = rng.integers(0, n, size=3)
    j = rng.integers(n)
    m = rng.integers(1, n, size=(2, 2), endpoint=True)
    tail = rng.choice(30000, k * 300, replace=False)  # (NumPy shuffles the tail of a large population)
    floyd = rng.choice(30000, k, replace=False)
    return x[p] * q, x[c] ** 2, d * x[:4], e * e, x[i] * x[j], np.sum(m) * x, (np.mean(tail) + np.mean(floyd)) * 1e-4 * x[0] * s


def integer_bounds(rng, x, s, lo, hi):
    a = rng.integers(lo, hi, size=2)
    b = rng.integers(hi)
    return a * x[:2], b * x * s


def choice_with_probabilities(rng, x):
    return np.sum(x[rng.choice(3, 2, p=np.array([0.2, 0.3, 0.5]))])  # choice with p
