"""Applications from the NumPy subset: batch normalisation, FIR filter design, inverse rendering,
a sensitivity through a linear solve, a Gaussian log-likelihood with slogdet and an inverse and
with a Cholesky factor, and the sensitivity of a lowest eigenvalue; each gradient against finite
differences, in both modes and under both backends. Last, the points where a decomposition's
derivative does not exist: they raise LinAlgError when the derivative runs."""

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


# np.diag(v, k) with an offset was refused ("bad arguments to diag: too many positional arguments")
@MODES
def test_ground_state_of_a_hamiltonian_built_from_its_diagonals(mode):
    check_grad(af.ground_state, (0.3, R.uniform(0.0, 1.0, 6)), mode, rtol=1e-6, atol=1e-6)


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


@MODES
def test_log_likelihood_with_cholesky(mode):
    """The same log-likelihood through cholesky (log det Σ = 2 Σ log C_ii) has the same gradient."""
    L, y = R.normal(size=(3, 3)) * 0.5, R.normal(size=(20, 3))
    (g,) = check_grad(af.gaussian_log_likelihood_cholesky, (L, y), mode, (0,))
    np.testing.assert_allclose(g, s2sad.grad(af.gaussian_log_likelihood, mode=mode)(L, y), rtol=1e-10)


@MODES
def test_lowest_eigenvalue_sensitivity(mode):
    """dλ/dθ_k = wᵀ (∂K/∂θ_k) w, w = M^-1/2 v, for the lowest mode v of M^-1/2 K M^-1/2."""
    theta, masses = np.array([2.0, 1.5, 3.0, 0.7]), np.array([1.0, 2.0, 0.5, 1.5])
    g, _ = check_grad(af.lowest_frequency, (theta, masses), mode)
    scale = 1.0 / np.sqrt(masses)
    v = np.linalg.eigh(af.stiffness(theta) * np.outer(scale, scale))[1][:, 0] * scale  # M^-1/2 v
    expected = [v[0] ** 2] + [(v[k - 1] - v[k]) ** 2 for k in range(1, 4)]
    np.testing.assert_allclose(g, expected, rtol=1e-10)


def _raises(fn, *args, mode, match):
    with pytest.raises(np.linalg.LinAlgError, match=match):
        s2sad.grad(fn, mode=mode)(*args)


@MODES
def test_vectors_at_repeated_values_raise(mode):
    """Eigenvectors and singular vectors have no derivative where their values repeat."""
    _raises(af.eigenvector_weights, np.diag([1.0, 1.0, 2.0]), mode=mode, match="repeated")
    _raises(af.singular_vector_weights, np.eye(3, 2) * 2.0, mode=mode, match="repeated")


@MODES
def test_singular_vectors_of_a_rank_deficient_tall_matrix_raise(mode):
    """A zero singular value of a non-square matrix leaves its vector undetermined; a square one
    has a derivative there (singular values 1 and 0 are distinct)."""
    _raises(af.singular_vector_weights, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), mode=mode, match="zero")
    A = np.array([[1.0, 0.0], [0.0, 0.0]])
    check_grad(af.singular_vector_weights, (A,), mode)


@MODES
def test_singular_values_at_a_tie(mode):
    """The nuclear norm at 2I: the singular values tie, and the gradient U Vᵀ is I whichever
    singular vectors LAPACK returns."""
    np.testing.assert_allclose(s2sad.grad(af.nuclear_norm, mode=mode)(2.0 * np.eye(3)), np.eye(3), atol=1e-14)


@MODES
def test_rank_deficient_or_wide_decompositions_raise(mode):
    _raises(af.least_squares_fit, np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]]), np.ones(3), mode=mode,
            match="full column rank")
    _raises(af.least_squares_fit, R.normal(size=(2, 3)), np.ones(2), mode=mode, match="full column rank")
    _raises(af.qr_factor_sum, R.normal(size=(2, 3)), mode=mode, match="square")
    _raises(af.cholesky_sum, R.normal(size=(2, 3)), mode=mode, match="square")
