"""GradBench's evals written in NumPy, their derivatives computed by s2sad: one module each."""
