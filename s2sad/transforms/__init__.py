"""The derivative transforms: `forward` (tangents) and `reverse` (adjoints)."""
