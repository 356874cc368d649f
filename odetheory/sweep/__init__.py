"""Sweeps: a grid of points (spec), one measurement per point (measure), run on Dask
(engine, cluster, tasks), recorded in a resumable results file (store)."""
