"""A differential fuzzer for s2sad: random NumPy programs, run as plain Python and differentiated.

See docs/design.md ("The differential fuzzer"); run a campaign with ``python -m tests.fuzz``.
"""
