"""The structured-SSA intermediate representation (see `core` for its grammar)."""
