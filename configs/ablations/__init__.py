"""Sweeps: ``get_sweep(arg)`` modules that ``launch/sweep.py`` expands into runs."""
