"""GradBench's ``ba`` eval (bundle adjustment, from ADBench): the reprojection residuals of p
observations of m points by n cameras and their weights' residuals 1 − w² (``objective``), and
the sparse Jacobian of all residuals (``jacobian``).

A camera has 11 parameters: a Rodrigues rotation (3), its centre (3), a focal length, a principal
point (2) and two radial distortion coefficients. Observation i of point X_i by camera c_i, of
weight w_i, has the residual

    y = R(rot) (X − centre);  p = y[:2] / y[2];  p ← p (1 + κ₁|p|² + κ₂|p|⁴);
    r_i = w_i (f p + principal point − feature_i),

with R by Rodrigues' formula, or its first-order form when the rotation is exactly zero (the
branch). GradBench sends one camera, point, weight and feature and asks for them to be repeated
(n cameras, m points, p observations, observation i seeing camera i mod n and point i mod m); the
whole problem is computed, as the eval asks, and only the parts of the output GradBench checks
are sent back.

The Jacobian's blocks come from two calls of s2sad's reverse-mode VJP of the residuals as a
function of the cameras and points gathered per observation: each observation's residuals depend
only on its own camera, point and weight, so the VJP seeded with ones on every first residual
gives the first row of every 2 × 15 block, and the second seed the second rows. The weight
residuals' derivatives (−2w) are one more VJP. The Jacobian is assembled in compressed-row form
as ADBench does (rows: the start of each row; cols, vals: the column and value of each entry).
"""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal

NCAM = 11  # parameters of a camera


def project(cam: np.ndarray, X: np.ndarray) -> tuple[float, float]:
    """The image of point X by camera `cam`, with radial distortion."""
    r0 = cam[0]
    r1 = cam[1]
    r2 = cam[2]
    y0 = X[0] - cam[3]
    y1 = X[1] - cam[4]
    y2 = X[2] - cam[5]
    sq = r0 * r0 + r1 * r1 + r2 * r2
    if sq != 0.0:
        theta = np.sqrt(sq)
        ct = np.cos(theta)
        st = np.sin(theta)
        k0 = r0 / theta
        k1 = r1 / theta
        k2 = r2 / theta
        along = (k0 * y0 + k1 * y1 + k2 * y2) * (1.0 - ct)
        z0 = y0 * ct + (k1 * y2 - k2 * y1) * st + k0 * along
        z1 = y1 * ct + (k2 * y0 - k0 * y2) * st + k1 * along
        z2 = y2 * ct + (k0 * y1 - k1 * y0) * st + k2 * along
    else:
        z0 = y0 + r1 * y2 - r2 * y1
        z1 = y1 + r2 * y0 - r0 * y2
        z2 = y2 + r0 * y1 - r1 * y0
    u = z0 / z2
    v = z1 / z2
    rsq = u * u + v * v
    distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    return cam[6] * distortion * u + cam[7], cam[6] * distortion * v + cam[8]


def reprojection(cams: np.ndarray, X: np.ndarray, w: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """The (p, 2) residuals, row i from ``cams[i]``, ``X[i]``, ``w[i]`` and ``feats[i]`` (the
    camera and point of observation i, gathered)."""
    p = X.shape[0]
    r = np.zeros((p, 2))
    for i in range(p):
        u, v = project(cams[i], X[i])
        r[i, 0] = w[i] * (u - feats[i, 0])
        r[i, 1] = w[i] * (v - feats[i, 1])
    return r


def weight_residuals(w: np.ndarray) -> np.ndarray:
    """1 − w², one per observation."""
    return 1.0 - w * w


def objective(cams: np.ndarray, X: np.ndarray, w: np.ndarray, obs: np.ndarray, feats: np.ndarray) -> tuple:
    """Both kinds of residuals, for cameras and points indexed by the observations."""
    return reprojection(cams[obs[:, 0]], X[obs[:, 1]], w, feats), weight_residuals(w)


def jacobian(cams: np.ndarray, X: np.ndarray, w: np.ndarray, obs: np.ndarray, feats: np.ndarray) -> tuple:
    """The Jacobian of all residuals with respect to the cameras, points and weights, in
    compressed-row form: (rows, cols, vals)."""
    n, m, p = cams.shape[0], X.shape[0], w.shape[0]
    vjp = derivative(s2sad.vjp, reprojection, wrt=("cams", "X", "w"))
    cam_g, X_g = cams[obs[:, 0]], X[obs[:, 1]]
    blocks = np.empty((p, 2, NCAM + 4))
    for k in range(2):
        seed = np.zeros((p, 2))
        seed[:, k] = 1.0
        _, (d_cam, d_X, d_w) = vjp(cam_g, X_g, w, feats, seed)
        blocks[:, k, :NCAM] = d_cam
        blocks[:, k, NCAM:NCAM + 3] = d_X
        blocks[:, k, NCAM + 3] = d_w
    _, d_weights = derivative(s2sad.vjp, weight_residuals)(w, np.ones(p))
    columns = np.empty((p, 2, NCAM + 4), dtype=np.int64)
    columns[:, :, :NCAM] = (NCAM * obs[:, 0])[:, None, None] + np.arange(NCAM)
    columns[:, :, NCAM:NCAM + 3] = (NCAM * n + 3 * obs[:, 1])[:, None, None] + np.arange(3)
    columns[:, :, NCAM + 3] = (NCAM * n + 3 * m + np.arange(p))[:, None]
    cols = np.concatenate((columns.ravel(), NCAM * n + 3 * m + np.arange(p)))
    vals = np.concatenate((blocks.ravel(), d_weights))
    rows = np.concatenate(([0], np.cumsum(np.concatenate((np.full(2 * p, NCAM + 4), np.ones(p, dtype=np.int64))))))
    return rows, cols, vals


def _args(input: dict) -> tuple:
    n, m, p = int(input["n"]), int(input["m"]), int(input["p"])
    cams = np.tile(np.array(input["cam"], dtype=np.float64), (n, 1))
    X = np.tile(np.array(input["x"], dtype=np.float64), (m, 1))
    w = np.full(p, float(input["w"]))
    obs = np.stack((np.arange(p) % n, np.arange(p) % m), axis=1)
    feats = np.tile(np.array(input["feat"], dtype=np.float64), (p, 1))
    return cams, X, w, obs, feats


def _post_objective(result: tuple) -> dict:
    reproj, werr = result
    return {"reproj_error": {"elements": reproj[0].tolist(), "repeated": int(reproj.shape[0])},
            "w_err": {"element": float(werr[0]), "repeated": int(werr.shape[0])}}


def _post_jacobian(result: tuple) -> dict:
    rows, cols, vals = result
    first = 2 * (NCAM + 4)  # the first observation's two rows, then the last entry
    return {"rows": [int(v) for v in rows[:first]] + [int(rows[-1])],
            "cols": [int(v) for v in cols[:first]] + [int(cols[-1])],
            "vals": [float(v) for v in vals[:first]] + [float(vals[-1])]}


def _objective(input: dict) -> Job:
    args = _args(input)
    f, g = primal(reprojection), primal(weight_residuals)
    cams, X, w, obs, feats = args
    return Job(lambda: (f(cams[obs[:, 0]], X[obs[:, 1]], w, feats), g(w)), _post_objective)


def _jacobian(input: dict) -> Job:
    args = _args(input)
    return Job(lambda: jacobian(*args), _post_jacobian)


FUNCTIONS = {"objective": _objective, "jacobian": _jacobian}
