"""s2sad: source-to-source automatic differentiation of NumPy functions.

    import numpy as np
    import s2sad

    @s2sad.grad
    def f(x):
        return np.sin(x ** 2) * np.exp(x)

    f(1.0)                                   # df/dx at 1.0
    print(s2sad.derivative_source(f.fn))     # the generated reverse-mode code
"""

from .ahead import compile_ahead
from .api import derivative_source, grad, ir_source, jvp, value_and_grad, vjp
from .backend.background import wait_compiled
from .backend.numba import BackendFallbackWarning
from .checkpoint import Binomial, Periodic, StoreAll, checkpointed
from .containers import ravel
from .custom import CustomRule, custom_rule
from .errors import DerivativeError, InternalError, S2SADError
from .higher_order import hessian, hvp, jacobian

__version__ = "0.1.0"

__all__ = ["grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian", "jacobian", "derivative_source", "ir_source", "custom_rule",
           "CustomRule", "S2SADError", "InternalError", "DerivativeError", "BackendFallbackWarning", "StoreAll", "Periodic", "Binomial",
           "checkpointed", "ravel", "compile_ahead", "wait_compiled",
           "__version__"]
