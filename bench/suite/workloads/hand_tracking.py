"""Hand tracking, as ADBench and GradBench define it (their ``ht``, the simple variant): a
skinned hand model posed by 26 parameters θ, and the residuals between observed points and the
model's vertices they correspond to; the derivative is the Jacobian of the residuals with
respect to θ, 3 × points rows and 26 columns, which every tool computes in forward mode (one
JVP per column, or its vectorised ``jacfwd``).

The NumPy definition is the GradBench tool's own (``bench/gradbench/evals/ht.py``): θ sets the
global rotation (angle-axis, with a branch for angles below 10⁻⁴) and translation, and Euler
angles of the fingers' bones; the bone transforms are composed along the skeleton from the
model's base transforms, each vertex is the blend of its bones' transforms weighted by the
skinning weights (linear blend skinning), then the global transform is applied.

The model is made up, deterministic and of the shape of ADBench's hand: 22 bones (a root, the
wrist, and four bones for each finger, in chains from the wrist), rest transforms that turn each
bone a little and move it along its parent, vertices scattered along the bones, each weighted
between its own bone and the bone's parent. The observed points are the vertices of a random
pose, with noise; θ is that pose, perturbed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from suite.evals import ht
from suite.workload import Form, Workload, tf_where, torch_where

FINGERS = 5
BONES_PER_FINGER = 4
N_BONES = 2 + FINGERS * BONES_PER_FINGER  # a root and the wrist, then the fingers' bones
N_THETA = 26


def hand_model(n_vertices: int, rng: np.random.Generator) -> tuple:
    """A hand model as ``ht.residuals_simple`` takes it: parents (−1 for the root), base relative
    transforms and inverse base absolute transforms (n_bones × 4 × 4), base positions (n_vertices
    × 4, homogeneous) and skinning weights (n_vertices × n_bones, rows summing to one)."""
    parents = np.array([-1, 0] + [1 if j == 0 else 1 + BONES_PER_FINGER * f + j
                                  for f in range(FINGERS) for j in range(BONES_PER_FINGER)])
    lengths = np.array([0.0, 4.0] + [length * scale for scale in (0.8, 1.0, 1.05, 1.0, 0.85)
                                     for length in (4.0, 2.5, 1.8, 1.2)])
    relatives = np.tile(np.eye(4), (N_BONES, 1, 1))
    absolutes = np.zeros((N_BONES, 4, 4))
    for i in range(N_BONES):
        relatives[i, :3, :3] = ht.angle_axis_to_rotation(0.15 * rng.normal(size=3))
        if i >= 2 and parents[i] == 1:  # a finger's first bone: at the end of the palm, spread across it
            finger = (i - 2) // BONES_PER_FINGER
            relatives[i, :3, 3] = (1.5 * finger - 3.0, lengths[1], 0.0)
        elif i >= 1:  # at the end of the parent bone
            relatives[i, :3, 3] = (0.0, lengths[parents[i]], 0.0)
        absolutes[i] = relatives[i] if parents[i] == -1 else absolutes[parents[i]] @ relatives[i]
    bone = rng.integers(1, N_BONES, n_vertices)
    along = rng.random(n_vertices)
    local = np.stack((0.4 * rng.normal(size=n_vertices), along * lengths[bone],
                      0.4 * rng.normal(size=n_vertices), np.ones(n_vertices)), axis=1)
    positions = np.einsum("vij,vj->vi", absolutes[bone], local)
    weights = np.zeros((n_vertices, N_BONES))
    weights[np.arange(n_vertices), bone] = 0.5 + 0.5 * along
    weights[np.arange(n_vertices), parents[bone]] += 0.5 - 0.5 * along
    return parents, relatives, np.linalg.inv(absolutes), positions, weights


def _args(quick: bool) -> tuple:
    r = np.random.default_rng(0)
    n_vertices, n_points = (100, 100) if quick else (544, 6400)  # (ADBench's hand has 544 vertices)
    model = hand_model(n_vertices, r)
    pose = np.concatenate((0.5 * r.normal(size=3), r.normal(size=3), 0.3 * r.normal(size=N_THETA - 6)))
    vertices = ht.vertex_positions(pose, *model, False)
    correspondences = r.integers(0, n_vertices, n_points)
    points = vertices[:, correspondences].T + 0.05 * r.normal(size=(n_points, 3))
    theta = pose + 0.05 * r.normal(size=N_THETA)
    return (theta, points, correspondences, *model, False)


def angle_index(n_bones: int) -> np.ndarray:
    """(n_bones, 3): the Euler angles of each bone as positions in ``concatenate(([0], θ))``
    (0 for the angles θ leaves at zero), read off ``ht.pose_parameters`` itself."""
    return ht.pose_parameters(np.arange(1.0, N_THETA + 1.0), n_bones)[3:].astype(np.int64)


def _functional(ops: SimpleNamespace):
    """The residuals without stores into arrays, for autograd and the peers: the bones' Euler
    rotations at once (in closed form), the chain of transforms a Python loop, the skinning an
    einsum, the global rotation's branch a `where`. `ops` has the tool's sin, cos, sqrt,
    ``stack(list, axis)``, ``concat(list, axis)``, einsum, ``where(c, a, float)``,
    ``reshape(a, shape)`` and ``rows(a, index)`` (``a[index]``)."""
    def residuals(theta, points, correspondences, parents, base_relatives, inverse_base_absolutes, base_positions,
                  weights, is_mirrored):
        n_bones = parents.shape[0]
        angles = ops.concat([theta[0:1] * 0.0, theta], 0)
        index = angle_index(n_bones)
        cx, sx = ops.cos(ops.rows(angles, index[:, 0])), ops.sin(ops.rows(angles, index[:, 0]))
        cz, sz = ops.cos(ops.rows(angles, index[:, 1])), ops.sin(ops.rows(angles, index[:, 1]))
        cy, sy = ops.cos(ops.rows(angles, index[:, 2])), ops.sin(ops.rows(angles, index[:, 2]))
        rotations = ops.reshape(ops.stack([  # Rz Ry Rx
            cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
            sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
            -sy, cy * sx, cy * cx], 1), (n_bones, 3, 3))
        relatives = ops.concat([ops.einsum("bij,bjk->bik", base_relatives[:, :, :3], rotations),
                                base_relatives[:, :, 3:]], 2)
        absolutes = []
        for i in range(n_bones):
            absolutes.append(relatives[i] if parents[i] == -1 else
                             ops.einsum("ij,jk->ik", absolutes[parents[i]], relatives[i]))
        transforms = ops.einsum("bij,bjk->bik", ops.stack(absolutes, 0), inverse_base_absolutes)[:, :3, :]
        moved = ops.einsum("bij,vj->bvi", transforms, base_positions)
        positions = ops.einsum("bvi,vb->vi", moved, weights)
        if is_mirrored:
            positions = ops.concat([-positions[:, :1], positions[:, 1:]], 1)
        square = theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]
        turned = square >= 1e-8  # (the angle at least 10⁻⁴; below, the identity)
        norm = ops.sqrt(ops.where(turned, square, 1.0))
        x, y, z = theta[0] / norm, theta[1] / norm, theta[2] / norm
        s, c = ops.sin(norm), ops.cos(norm)
        rotation = ops.reshape(ops.stack([ops.where(turned, value, identity) for value, identity in (
            (x * x + (1.0 - x * x) * c, 1.0), (x * y * (1.0 - c) - z * s, 0.0), (x * z * (1.0 - c) + y * s, 0.0),
            (x * y * (1.0 - c) + z * s, 0.0), (y * y + (1.0 - y * y) * c, 1.0), (y * z * (1.0 - c) - x * s, 0.0),
            (x * z * (1.0 - c) - y * s, 0.0), (z * y * (1.0 - c) + x * s, 0.0), (z * z + (1.0 - z * z) * c, 1.0))],
            0), (3, 3))
        vertices = ops.einsum("ij,vj->vi", rotation, positions) + theta[3:6]
        return ops.reshape(points - ops.rows(vertices, correspondences), (-1,))
    return residuals


def autograd_form(anp):
    return _functional(SimpleNamespace(sin=anp.sin, cos=anp.cos, sqrt=anp.sqrt, stack=anp.stack,
                                       concat=anp.concatenate, einsum=anp.einsum, where=anp.where,
                                       reshape=anp.reshape, rows=lambda a, index: a[index]))


def torch_form(torch):
    return _functional(SimpleNamespace(sin=torch.sin, cos=torch.cos, sqrt=torch.sqrt, stack=torch.stack,
                                       concat=torch.cat, einsum=torch.einsum, where=torch_where(torch),
                                       reshape=torch.reshape, rows=lambda a, index: a[torch.from_numpy(index)]))


def jax_form(jax):
    jnp = jax.numpy
    return _functional(SimpleNamespace(sin=jnp.sin, cos=jnp.cos, sqrt=jnp.sqrt, stack=jnp.stack,
                                       concat=jnp.concatenate, einsum=jnp.einsum, where=jnp.where,
                                       reshape=jnp.reshape, rows=lambda a, index: a[index]))


def tf_form(tf):
    return _functional(SimpleNamespace(sin=tf.sin, cos=tf.cos, sqrt=tf.sqrt, stack=tf.stack, concat=tf.concat,
                                       einsum=tf.einsum, where=tf_where(tf), reshape=tf.reshape, rows=tf.gather))


FUNCTIONAL = "no in-place store: the bones' rotations in closed form and at once, the skinning an einsum"

WORKLOAD = Workload(
    name="hand_tracking",
    title="hand tracking (ADBench ht), residual Jacobian",
    numpy=ht.residuals_simple,
    make_args=_args,
    size=lambda a: f"{a[1].shape[0]} points, {a[6].shape[0]} vertices, {a[3].shape[0]} bones",
    wrt=(0,),
    jacobian=True,
    forms={
        "autograd": Form(autograd_form, f"{FUNCTIONAL}; autograd.make_jvp per column"),
        "torch": Form(torch_form, f"{FUNCTIONAL}; the global rotation's branch a where; torch.func.jacfwd"),
        "jax": Form(jax_form, f"{FUNCTIONAL}; the global rotation's branch a where; jax.jacfwd"),
        "tf": Form(tf_form, f"{FUNCTIONAL}; the global rotation's branch a where; "
                            "tf.vectorized_map of a ForwardAccumulator over the columns"),
    },
)
