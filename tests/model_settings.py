"""A module of settings read by tests/state_funcs.py (``model_settings.STEPS``)."""

STEPS = 3
