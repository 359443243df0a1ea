"""From a Python function to IR: `parse` reads its source, `lower` builds the IR."""
