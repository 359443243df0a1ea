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
