"""IR → IR passes, each a single-purpose function with a before/after in its docstring."""
