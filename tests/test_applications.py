"""Applications from the NumPy subset: batch normalisation, FIR filter design, inverse rendering;
each gradient against finite differences, in both modes and under both backends."""

import numpy as np
import pytest

import app_funcs as af
import s2sad
from numeric import fd

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
R = np.random.default_rng(11)


def check(f, args, wrt, mode, rtol=1e-6):
    got = s2sad.grad(f, wrt=wrt, mode=mode)(*args)
    for k, g in zip(wrt, got):
        np.testing.assert_allclose(g, fd(f, args, k), rtol=rtol, atol=1e-8, err_msg=f"{f.__name__} wrt {k}")
    return got


@MODES
def test_batch_norm_wrt_input_scale_and_shift(mode):
    x = R.normal(size=(8, 3)) * np.array([1.0, 2.0, 0.5]) + 1.0
    gamma, beta = np.array([0.8, 1.2, -0.5]), np.array([0.1, -0.2, 0.3])
    gx, _, _ = check(af.batch_norm, (x, gamma, beta), (0, 1, 2), mode)
    np.testing.assert_allclose(gx.sum(axis=0), 0.0, atol=1e-10)  # shifting a column changes nothing


@MODES
def test_fir_magnitude_response_wrt_taps(mode):
    taps = R.normal(size=8) * 0.3
    freqs = np.linspace(0.05, np.pi - 0.05, 16)
    target = (freqs < 1.0) * 1.0
    check(af.fir_response_error, (taps, freqs, target), (0,), mode)


@MODES
def test_lambert_inverse_rendering_wrt_albedo_light_and_ambient(mode):
    normals = R.normal(size=(12, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    light = np.array([0.3, -0.5, 0.8])
    albedo, ambient = R.uniform(0.2, 0.9, 12), 0.1
    image = R.uniform(0.0, 1.0, 12)
    assert np.all(np.abs(normals @ light) > 1e-3)  # no pixel exactly at the shadow's edge
    check(af.lambert_render_error, (albedo, light, ambient, normals, image), (0, 1, 2), mode)
