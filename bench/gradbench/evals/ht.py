"""GradBench's ``ht`` eval (hand tracking, from ADBench): a skinned hand model posed by 26
parameters theta, and the residuals between observed points and the model's vertices
(``objective``), and the Jacobian of the residuals (``jacobian``).

The pose: a global rotation (angle-axis) and translation, then for each finger rotations of its
bones by Euler angles (xzy), composed along the skeleton from the base transforms; each vertex is
the blend of its bones' transforms weighted by the skinning weights, then the global transform is
applied. In the ``simple`` variant each point corresponds to a vertex; in the ``complicated``
variant to a point of a triangle, with barycentric coordinates us (two per point) that are
differentiated too.

The Jacobian has one row per residual and one column per parameter: forward mode suits its 26
(or 28) columns against thousands of rows. One s2sad JVP of the residuals with respect to theta
and us gives the column of one theta; the columns of us are compressed, as ADBench's are: point
i's residuals depend only on its own (u₀, u₁), so one JVP whose us tangent is (1, 0) at every
point gives the derivatives of every row with respect to its own u₀, and (0, 1) those for u₁.
"""

from __future__ import annotations

import numpy as np
import s2sad

from .common import Job, derivative, primal


def angle_axis_to_rotation(aa: np.ndarray) -> np.ndarray:
    """The rotation by |aa| about aa's direction (the identity for |aa| < 1e-4)."""
    norm = np.sqrt(aa[0] * aa[0] + aa[1] * aa[1] + aa[2] * aa[2])
    if norm < 0.0001:
        R = np.eye(3)
    else:
        x = aa[0] / norm
        y = aa[1] / norm
        z = aa[2] / norm
        s = np.sin(norm)
        c = np.cos(norm)
        R = np.zeros((3, 3))
        R[0, 0] = x * x + (1.0 - x * x) * c
        R[0, 1] = x * y * (1.0 - c) - z * s
        R[0, 2] = x * z * (1.0 - c) + y * s
        R[1, 0] = x * y * (1.0 - c) + z * s
        R[1, 1] = y * y + (1.0 - y * y) * c
        R[1, 2] = y * z * (1.0 - c) - x * s
        R[2, 0] = x * z * (1.0 - c) - y * s
        R[2, 1] = z * y * (1.0 - c) + x * s
        R[2, 2] = z * z + (1.0 - z * z) * c
    return R


def euler_to_rotation(xzy: np.ndarray) -> np.ndarray:
    """Rz Ry Rx for the angles (x, z, y) in that order."""
    tx = xzy[0]
    ty = xzy[2]
    tz = xzy[1]
    Rx = np.eye(3)
    Rx[1, 1] = np.cos(tx)
    Rx[2, 1] = np.sin(tx)
    Rx[1, 2] = -np.sin(tx)
    Rx[2, 2] = np.cos(tx)
    Ry = np.eye(3)
    Ry[0, 0] = np.cos(ty)
    Ry[0, 2] = np.sin(ty)
    Ry[2, 0] = -np.sin(ty)
    Ry[2, 2] = np.cos(ty)
    Rz = np.eye(3)
    Rz[0, 0] = np.cos(tz)
    Rz[1, 0] = np.sin(tz)
    Rz[0, 1] = -np.sin(tz)
    Rz[1, 1] = np.cos(tz)
    return (Rz @ Ry) @ Rx


def pose_parameters(theta: np.ndarray, n_bones: int) -> np.ndarray:
    """(n_bones + 3, 3): the global rotation, scale (ones) and translation, then the Euler angles of
    each bone, of which theta sets two for the first bone of each finger and one for the next
    two (the others stay 0)."""
    pose = np.zeros((n_bones + 3, 3))
    pose[0] = theta[0:3]
    pose[1] = 1.0
    pose[2] = theta[3:6]
    i_theta = 6
    i_pose = 5
    for finger in range(5):
        for i in range(2, 5):
            pose[i_pose, 0] = theta[i_theta]
            i_theta = i_theta + 1
            if i == 2:
                pose[i_pose, 1] = theta[i_theta]
                i_theta = i_theta + 1
            i_pose = i_pose + 1
        i_pose = i_pose + 1
    return pose


def vertex_positions(theta: np.ndarray, parents: np.ndarray, base_relatives: np.ndarray,
                     inverse_base_absolutes: np.ndarray, base_positions: np.ndarray, weights: np.ndarray,
                     is_mirrored: bool) -> np.ndarray:
    """The (3, n_vertices) positions of the posed, skinned hand."""
    n_bones = parents.shape[0]
    pose = pose_parameters(theta, n_bones)
    absolutes = np.zeros((n_bones, 4, 4))
    positions = np.zeros((3, base_positions.shape[0]))
    for i in range(n_bones):
        tr = np.eye(4)
        tr[:3, :3] = euler_to_rotation(pose[i + 3])
        relative = base_relatives[i] @ tr
        if parents[i] == -1:
            absolutes[i] = relative
        else:
            absolutes[i] = absolutes[parents[i]] @ relative
        transform = absolutes[i] @ inverse_base_absolutes[i]
        moved = transform[:3] @ base_positions.T
        positions = positions + moved * weights[:, i]
    if is_mirrored:
        positions[0] = -positions[0]
    R = angle_axis_to_rotation(pose[0]) * pose[1]
    return R @ positions + np.expand_dims(pose[2], 1)


def residuals_simple(theta: np.ndarray, points: np.ndarray, correspondences: np.ndarray, parents: np.ndarray,
                     base_relatives: np.ndarray, inverse_base_absolutes: np.ndarray, base_positions: np.ndarray,
                     weights: np.ndarray, is_mirrored: bool) -> np.ndarray:
    """points[i] − vertex correspondences[i], flattened (3 per point)."""
    V = vertex_positions(theta, parents, base_relatives, inverse_base_absolutes, base_positions, weights, is_mirrored)
    return (points - V[:, correspondences].T).ravel()


def residuals_complicated(theta: np.ndarray, us: np.ndarray, points: np.ndarray, correspondences: np.ndarray,
                          triangles: np.ndarray, parents: np.ndarray, base_relatives: np.ndarray,
                          inverse_base_absolutes: np.ndarray, base_positions: np.ndarray, weights: np.ndarray,
                          is_mirrored: bool) -> np.ndarray:
    """points[i] − the point of triangle correspondences[i] with barycentric coordinates
    (us[i, 0], us[i, 1], 1 − both), flattened (3 per point)."""
    V = vertex_positions(theta, parents, base_relatives, inverse_base_absolutes, base_positions, weights, is_mirrored)
    tri = triangles[correspondences]
    u0 = us[:, 0:1]
    u1 = us[:, 1:2]
    hand = u0 * V[:, tri[:, 0]].T + u1 * V[:, tri[:, 1]].T + (1.0 - u0 - u1) * V[:, tri[:, 2]].T
    return (points - hand).ravel()


def _args(input: dict) -> tuple[bool, tuple]:
    data, model = input["data"], input["data"]["model"]
    theta = np.array(input["theta"], dtype=np.float64)
    common = (np.array(data["points"], dtype=np.float64).reshape(-1, 3),
              np.array(data["correspondences"], dtype=np.int64))
    skin = (np.array(model["parents"], dtype=np.int64),
            np.array(model["base_relatives"], dtype=np.float64).reshape(-1, 4, 4),
            np.array(model["inverse_base_absolutes"], dtype=np.float64).reshape(-1, 4, 4),
            np.array(model["base_positions"], dtype=np.float64).reshape(-1, 4),
            np.array(model["weights"], dtype=np.float64),
            bool(model["is_mirrored"]))
    us = input.get("us") or []
    if len(us) == 0:
        return False, (theta, *common, *skin)
    triangles = np.array(model["triangles"], dtype=np.int64).reshape(-1, 3)
    return True, (theta, np.array(us, dtype=np.float64).reshape(-1, 2), *common, triangles, *skin)


def jacobian(complicated: bool, args: tuple) -> np.ndarray:
    """The (3 · points, [2 +] 26) Jacobian, the us columns first: the theta columns from
    s2sad's forward-mode `jacobian` (its vector form carries all 26 in one sweep), the us
    columns (each point's own u moved along one axis, all points at once) from two JVPs."""
    if not complicated:
        return derivative(s2sad.jacobian, residuals_simple, wrt="theta", mode="forward")(*args)
    theta, us = args[0], args[1]
    jvp = derivative(s2sad.jvp, residuals_complicated, wrt=("theta", "us"))
    columns = []
    for k in range(2):
        along = np.zeros_like(us)
        along[:, k] = 1.0
        columns.append(jvp(*args, np.zeros_like(theta), along)[1])
    by_theta = derivative(s2sad.jacobian, residuals_complicated, wrt="theta", mode="forward")(*args)
    return np.concatenate([np.stack(columns, axis=1), by_theta], axis=1)


def _objective(input: dict) -> Job:
    complicated, args = _args(input)
    f = primal(residuals_complicated if complicated else residuals_simple)
    return Job(lambda: f(*args), lambda r: r.tolist())


def _jacobian(input: dict) -> Job:
    complicated, args = _args(input)
    return Job(lambda: jacobian(complicated, args), lambda r: r.tolist())


FUNCTIONS = {"objective": _objective, "jacobian": _jacobian}
