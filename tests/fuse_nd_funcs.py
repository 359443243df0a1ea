"""Functions whose Numba derivatives compute arrays of three axes by nested element loops
(test_fuse_nd.py): 2-D code, whose vector forward tangents are batches (k, m, n)."""

import numpy as np


def skinned(theta, base, weights):
    """A blend of transforms of points, accumulated over bones in a loop (the hand-tracking
    residuals in small): each bone's transform is turned by one parameter."""
    positions = np.zeros((2, base.shape[0]))
    for i in range(weights.shape[1]):
        c, s = np.cos(theta[i]), np.sin(theta[i])
        transform = np.array([[c, -s], [s, c]]) * theta[i + weights.shape[1]]
        moved = transform @ base.T
        positions = positions + moved * weights[:, i]
    return positions


def gathered(theta, base, weights, index, shift):
    """The residuals of points against the skinned vertices they correspond to: a gather of
    columns, a transpose, a negation and a broadcast column added (``np.expand_dims``)."""
    V = skinned(theta, base, weights) + np.expand_dims(shift * theta[:2], 1)
    return (base[index] - V[:, index].T).ravel()


def swapped_product(A, B):
    """A sum over a product of a batch of matrices with a transpose of another (reverse mode
    differentiates through the transposes)."""
    return np.sum(np.sin(np.transpose(A, (0, 2, 1)) * B + np.expand_dims(B[:, 0], 1)))


def accumulated_squares(X, W):
    """In a loop, a transpose of an elementwise result with a spread column added, transposed
    back, squared and accumulated: the tangents read through both transposes."""
    total = np.zeros(X.shape)
    for i in range(W.shape[0]):
        t = (np.tanh(X * W[i]).T + np.expand_dims(W[i], 1)).T
        total = total + t * t
    return total
