"""The comparison suite behind ``bench/run.py``: workloads, the tools that differentiate them,
measurement and reports."""
