"""Application functions for test_applications.py (written as a user would)."""

import numpy as np


def batch_norm(x, gamma, beta):
    """Normalise each feature (column) over the batch, then scale and shift; a loss on top."""
    mean = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    x_hat = (x - mean) / np.sqrt(var + 1e-5)
    y = gamma * x_hat + beta
    return np.sum(np.tanh(y) ** 2)


def fir_response_error(taps, freqs, target):
    """Squared error between an FIR filter's magnitude response |H(w)| and a target."""
    n = np.linspace(0.0, taps.shape[0] - 1.0, taps.shape[0])
    phase = np.outer(freqs, n)
    re = np.cos(phase) @ taps
    im = -(np.sin(phase) @ taps)
    magnitude = np.sqrt(re * re + im * im)
    return np.sum((magnitude - target) ** 2)


def lambert_render_error(albedo, light, ambient, normals, image):
    """Lambert shading of a surface (albedo per pixel, one directional light) against an image."""
    shade = np.maximum(normals @ light, 0.0)
    rendered = albedo * (shade + ambient)
    return np.mean((rendered - image) ** 2)


def solve_sensitivity(theta, b, c):
    """c · x(θ) where A(θ) x = b: a stiffness matrix from spring constants θ (a chain of springs
    fixed at one end), as in the sensitivity of a structure's response to its parameters."""
    x = np.linalg.solve(stiffness(theta), b)
    return c @ x


def stiffness(theta):
    """The stiffness matrix of a chain of springs with constants θ, fixed at one end."""
    n = theta.shape[0]
    A = np.zeros((n, n))
    for i in range(n):
        A[i, i] += theta[i]
        if i + 1 < n:
            A[i, i] += theta[i + 1]
            A[i, i + 1] -= theta[i + 1]
            A[i + 1, i] -= theta[i + 1]
    return A


def lowest_frequency(theta, masses):
    """The squared lowest natural frequency of the spring chain with point masses: the smallest
    eigenvalue of M^-1/2 K M^-1/2."""
    scale = 1.0 / np.sqrt(masses)
    return np.linalg.eigvalsh(stiffness(theta) * np.outer(scale, scale))[0]


def gaussian_log_likelihood(L, y):
    """log N(y; 0, Σ) up to a constant, Σ = L Lᵀ + I, written with slogdet and an inverse; the
    trace term tr(Σ⁻¹ S) uses the sample covariance S of y's rows."""
    sigma = L @ L.T + np.eye(L.shape[0])
    sign, logdet = np.linalg.slogdet(sigma)
    S = y.T @ y / y.shape[0]
    return -0.5 * y.shape[0] * (logdet + np.trace(np.linalg.inv(sigma) @ S))


def determinant(A):
    return np.linalg.det(A)


def gaussian_log_likelihood_cholesky(L, y):
    """The same log-likelihood through a Cholesky factor C of Σ: log det Σ = 2 Σ log C_ii, and
    tr(Σ⁻¹ S) = |C⁻¹ yᵀ|² / n."""
    sigma = L @ L.T + np.eye(L.shape[0])
    C = np.linalg.cholesky(sigma)
    z = np.linalg.solve(C, y.T)
    logdet = 2.0 * np.sum(np.log(np.diag(C)))
    return -0.5 * y.shape[0] * (logdet + np.sum(z * z) / y.shape[0])


def eigenvector_weights(A):
    w, v = np.linalg.eigh(A)
    return np.sum(v * v * np.arange(1.0, w.shape[0] + 1.0))


def singular_vector_weights(A):
    u, s, vt = np.linalg.svd(A, full_matrices=False)
    return np.sum(u * u * np.arange(1.0, s.shape[0] + 1.0))


def nuclear_norm(A):
    return np.sum(np.linalg.svd(A, compute_uv=False))


def least_squares_fit(A, b):
    return np.sum(np.linalg.lstsq(A, b, rcond=None)[0] ** 2)


def qr_factor_sum(A):
    return np.sum(np.linalg.qr(A)[1])


def cholesky_sum(A):
    return np.sum(np.linalg.cholesky(A))


def ground_state(h, V):
    """The lowest level of a particle on a grid: the finite-difference Hamiltonian built from its
    diagonals (np.diag with an offset), its energy plus the fourth moment of its density."""
    n = V.shape[0]
    H = np.diag(2.0 / h ** 2 + V) - np.diag(np.ones(n - 1) / h ** 2, 1) - np.diag(np.ones(n - 1) / h ** 2, k=-1)
    w, U = np.linalg.eigh(H)
    return w[0] + np.sum(U[:, 0] ** 4) + np.sum(np.diag(H, 1) * np.diag(H, -1)) * h ** 4
