"""Applications from the NumPy subset: batch normalisation, FIR filter design, inverse rendering,
a sensitivity through a linear solve and a Gaussian log-likelihood with slogdet and an inverse;
each gradient against finite differences, in both modes and under both backends."""

import numpy as np
import pytest

import app_funcs as af
import s2sad
from numeric import check_grad

pytestmark = pytest.mark.usefixtures("each_backend")  # every test, compiled and not
MODES = pytest.mark.parametrize("mode", ["reverse", "forward"])
R = np.random.default_rng(11)


@MODES
def test_batch_norm_wrt_input_scale_and_shift(mode):
    x = R.normal(size=(8, 3)) * np.array([1.0, 2.0, 0.5]) + 1.0
    gamma, beta = np.array([0.8, 1.2, -0.5]), np.array([0.1, -0.2, 0.3])
    gx, _, _ = check_grad(af.batch_norm, (x, gamma, beta), mode, (0, 1, 2))
    np.testing.assert_allclose(gx.sum(axis=0), 0.0, atol=1e-10)  # shifting a column changes nothing


@MODES
def test_fir_magnitude_response_wrt_taps(mode):
    taps = R.normal(size=8) * 0.3
    freqs = np.linspace(0.05, np.pi - 0.05, 16)
    target = (freqs < 1.0) * 1.0
    check_grad(af.fir_response_error, (taps, freqs, target), mode, (0,))


@MODES
def test_lambert_inverse_rendering_wrt_albedo_light_and_ambient(mode):
    normals = R.normal(size=(12, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    light = np.array([0.3, -0.5, 0.8])
    albedo, ambient = R.uniform(0.2, 0.9, 12), 0.1
    image = R.uniform(0.0, 1.0, 12)
    assert np.all(np.abs(normals @ light) > 1e-3)  # no pixel exactly at the shadow's edge
    check_grad(af.lambert_render_error, (albedo, light, ambient, normals, image), mode, (0, 1, 2))


@MODES
def test_sensitivity_through_a_linear_solve(mode):
    """d(c·x)/dθ for A(θ) x = b against finite differences and the adjoint formula
    dθ_k = -λᵀ (∂A/∂θ_k) x with Aᵀ λ = c."""
    theta, b, c = np.array([2.0, 1.5, 3.0, 0.7]), R.normal(size=4), R.normal(size=4)
    (g,) = check_grad(af.solve_sensitivity, (theta, b, c), mode, (0,))
    A = np.diag(theta + np.append(theta[1:], 0.0)) - np.diag(theta[1:], 1) - np.diag(theta[1:], -1)
    x, lam = np.linalg.solve(A, b), np.linalg.solve(A.T, c)
    # ∂A/∂θ_0 = e_0 e_0ᵀ; ∂A/∂θ_k = (e_{k-1} - e_k)(e_{k-1} - e_k)ᵀ for k ≥ 1
    expected = [-x[0] * lam[0]] + [-(x[k - 1] - x[k]) * (lam[k - 1] - lam[k]) for k in range(1, 4)]
    np.testing.assert_allclose(g, expected, rtol=1e-10)
    gb = s2sad.grad(af.solve_sensitivity, wrt=1, mode=mode)(theta, b, c)
    np.testing.assert_allclose(gb, lam, rtol=1e-10)  # d(c·x)/db = λ


@MODES
def test_log_likelihood_with_slogdet_and_inverse(mode):
    """The gradient of -n/2 (log det Σ + tr(Σ⁻¹ S)) with Σ = L Lᵀ + I is n (Σ⁻¹ S Σ⁻¹ - Σ⁻¹) L."""
    L, y = R.normal(size=(3, 3)) * 0.5, R.normal(size=(20, 3))
    (g,) = check_grad(af.gaussian_log_likelihood, (L, y), mode, (0,))
    sigma = L @ L.T + np.eye(3)
    inv, S = np.linalg.inv(sigma), y.T @ y / 20
    np.testing.assert_allclose(g, 20 * (inv @ S @ inv - inv) @ L, rtol=1e-10)


@MODES
def test_determinant_derivative_at_a_singular_matrix_raises(mode):
    """det's derivative needs A⁻¹: at a singular A it raises rather than return a wrong number."""
    with pytest.raises(np.linalg.LinAlgError):
        s2sad.grad(af.determinant, mode=mode)(np.array([[1.0, 2.0], [2.0, 4.0]]))
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    np.testing.assert_allclose(s2sad.grad(af.determinant, mode=mode)(A), np.linalg.det(A) * np.linalg.inv(A).T,
                               rtol=1e-12)
