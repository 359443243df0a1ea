"""A module of settings read by tests/state_funcs.py (``model_settings.STEPS``)."""

STEPS = 3
WEIGHTS = None  # (an array, set by tests)
