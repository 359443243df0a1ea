"""Backends turn generated source into callables (the Python backend imports it)."""
