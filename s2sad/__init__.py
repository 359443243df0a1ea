"""s2sad: source-to-source automatic differentiation of NumPy functions.

    import numpy as np
    import s2sad

    @s2sad.grad
    def f(x):
        return np.sin(x ** 2) * np.exp(x)

    f(1.0)                                   # df/dx at 1.0
    print(s2sad.derivative_source(f.fn))     # the generated reverse-mode code
"""

import os

# Compiled derivatives call BLAS in SciPy's OpenBLAS, NumPy in its own. Each library's threads spin
# for 2**28 cycles (about 0.1 s) after a call, taking the cores from the other's next call; SciPy's,
# loaded after this import, spin for 2**20 (a user's setting is kept). bench/blas_switch.py.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")

from .ahead import compile_ahead  # noqa: E402
from .api import derivative_source, grad, ir_source, jvp, value_and_grad, vjp  # noqa: E402
from .backend.background import wait_compiled  # noqa: E402
from .backend.numba import BackendFallbackWarning  # noqa: E402
from .checkpoint import Binomial, Periodic, StoreAll, checkpointed  # noqa: E402
from .containers import ravel  # noqa: E402
from .custom import CustomRule, custom_rule  # noqa: E402
from .errors import DerivativeError, InternalError, S2SADError  # noqa: E402
from .higher_order import hessian, hvp, jacobian  # noqa: E402

__version__ = "0.1.0"

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian", "jacobian", "derivative_source", "ir_source", "custom_rule",
           "CustomRule", "S2SADError", "InternalError", "DerivativeError", "BackendFallbackWarning", "StoreAll", "Periodic", "Binomial",
           "checkpointed", "ravel", "compile_ahead", "wait_compiled",
           "__version__"]
