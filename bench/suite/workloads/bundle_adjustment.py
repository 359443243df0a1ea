"""The reprojection Jacobian of bundle adjustment, as defined by ADBench and GradBench (their
``ba``), implemented here from that definition. A camera has 11 parameters: a Rodrigues rotation
(3), a centre (3), a focal length, a principal point (2) and two radial distortion coefficients.
Observation j of point X_j by camera c_j, with weight w_j, has the residual

    y = R(rot) (X − centre);  p = y[:2] / y[2];  p ← p (1 + κ₁|p|² + κ₂|p|⁴)
    r_j = w_j (f p + principal point − feature_j)

where R rotates by Rodrigues' formula (and by its first-order form when the rotation is zero:
the branch). Each observation's two residuals depend only on its own camera, point and weight,
so the Jacobian is block sparse, 2 × (11 + 3 + 1) per observation; every tool computes the blocks
of all observations with two VJPs, seeded with ones on the first, then the second, residual of
every observation. (ADBench's weight residuals 1 − w², whose derivative is −2w, are left out.)
The arguments are per observation: camera parameters and points gathered by observation.
"""

from __future__ import annotations

import numpy as np

from suite.workload import Form, Workload, rebound, tf_where, torch_where


def project(cam, X):
    """The projection of point X by camera `cam` (11 parameters), as two floats."""
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


def reprojection(cams, X, w, feats):
    p = X.shape[0]
    r = np.zeros((p, 2))
    for j in range(p):
        u, v = project(cams[j], X[j])
        r[j, 0] = w[j] * (u - feats[j, 0])
        r[j, 1] = w[j] * (v - feats[j, 1])
    return r


def autograd_form(anp):
    project_ag = rebound(project, anp)

    def residuals(cams, X, w, feats):
        rows = []
        for j in range(X.shape[0]):
            u, v = project_ag(cams[j], X[j])
            rows.append(anp.stack((w[j] * (u - feats[j, 0]), w[j] * (v - feats[j, 1]))))
        return anp.stack(rows)
    return residuals


def _vectorised(lib, where, stack):
    """The residuals of all observations at once, for a tool with NumPy-like elementwise
    functions in `lib`, `where(c, a, b)` and `stack(list, axis)`. The zero-rotation branch is a
    `where`, with θ kept away from 0 on the side not taken so that its derivative stays finite."""
    def residuals(cams, X, w, feats):
        r0, r1, r2 = cams[:, 0], cams[:, 1], cams[:, 2]
        y0, y1, y2 = X[:, 0] - cams[:, 3], X[:, 1] - cams[:, 4], X[:, 2] - cams[:, 5]
        sq = r0 * r0 + r1 * r1 + r2 * r2
        rotated = sq != 0.0
        theta = lib.sqrt(where(rotated, sq, 1.0))
        ct, st = lib.cos(theta), lib.sin(theta)
        k0, k1, k2 = r0 / theta, r1 / theta, r2 / theta
        along = (k0 * y0 + k1 * y1 + k2 * y2) * (1.0 - ct)
        z0 = where(rotated, y0 * ct + (k1 * y2 - k2 * y1) * st + k0 * along, y0 + r1 * y2 - r2 * y1)
        z1 = where(rotated, y1 * ct + (k2 * y0 - k0 * y2) * st + k1 * along, y1 + r2 * y0 - r0 * y2)
        z2 = where(rotated, y2 * ct + (k0 * y1 - k1 * y0) * st + k2 * along, y2 + r0 * y1 - r1 * y0)
        u, v = z0 / z2, z1 / z2
        rsq = u * u + v * v
        distortion = 1.0 + cams[:, 9] * rsq + cams[:, 10] * rsq * rsq
        return stack([w * (cams[:, 6] * distortion * u + cams[:, 7] - feats[:, 0]),
                      w * (cams[:, 6] * distortion * v + cams[:, 8] - feats[:, 1])], 1)
    return residuals


def torch_form(torch):
    return _vectorised(torch, torch_where(torch), torch.stack)


def jax_form(jax):
    jnp = jax.numpy
    return _vectorised(jnp, jnp.where, lambda parts, axis: jnp.stack(parts, axis))


def tf_form(tf):
    class TfMath:
        sqrt, cos, sin = staticmethod(tf.sqrt), staticmethod(tf.cos), staticmethod(tf.sin)
    return _vectorised(TfMath, tf_where(tf), lambda parts, axis: tf.stack(parts, axis))


def _args(quick: bool) -> tuple:
    """Cameras about 10 units from the origin looking at points near it, each point seen by two
    cameras; camera parameters and points gathered per observation."""
    r = np.random.default_rng(0)
    n_cams, n_points = (4, 10) if quick else (10, 100)
    cams = np.zeros((n_cams, 11))
    cams[:, 0:3] = 0.1 * r.normal(size=(n_cams, 3))
    cams[:, 3:6] = r.normal(size=(n_cams, 3)) + np.array([0.0, 0.0, -10.0])
    cams[:, 6] = 500.0 + 10.0 * r.normal(size=n_cams)
    cams[:, 7:9] = r.normal(size=(n_cams, 2))
    cams[:, 9:11] = 1e-3 * r.normal(size=(n_cams, 2))
    points = r.normal(size=(n_points, 3))
    obs_point = np.repeat(np.arange(n_points), 2)
    obs_cam = r.integers(0, n_cams, size=obs_point.size)
    feats = r.normal(size=(obs_point.size, 2))
    return cams[obs_cam], points[obs_point], r.uniform(0.5, 1.5, size=obs_point.size), feats


def _seeds(args: tuple) -> list[np.ndarray]:
    first, second = np.zeros((args[1].shape[0], 2)), np.zeros((args[1].shape[0], 2))
    first[:, 0] = 1.0
    second[:, 1] = 1.0
    return [first, second]


VECTORISED = "vectorised over observations; the branch as a where"

WORKLOAD = Workload(
    name="bundle_adjustment",
    title="bundle adjustment, reprojection Jacobian (ADBench)",
    numpy=reprojection,
    make_args=_args,
    size=lambda a: f"{a[1].shape[0]} observations",
    wrt=(0, 1, 2),
    seeds=_seeds,
    forms={
        "autograd": Form(autograd_form, "no in-place store: residual rows stacked"),
        "torch": Form(torch_form, VECTORISED),
        "jax": Form(jax_form, VECTORISED),
        "tf": Form(tf_form, VECTORISED),
    },
)
