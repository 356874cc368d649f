"""Experiments built on the ODE and the simulators: compare, P(learn), degeneracy, deep networks, figures, benchmark."""
