"""The fixed points behind P(learn): ReLU DFA, K = 3, M = 2, A_m = 1, F with 0, 1, 2 positive entries.

The three runs of Fig. 4 (same teacher and student, seed 0; F of fixed magnitudes with
the first j entries positive), integrated to α = 10^4 and analysed by
``odetheory.fixed_points``: with the full right-hand side, and with the η² terms dropped
(the O(η) flow, whose fixed points the runs would end in without SGD noise).

    python examples/fixedpoints_plearn.py
"""
import numpy as np

from odetheory import State, draw_network, fixed_points

magnitudes = np.abs(np.random.default_rng(4).standard_normal(3)) + 0.5  # as in figures.fig4
start = draw_network(3, 2, 500, 1e-2, 0).state()
for eta2_terms in (True, False):
    for j in (0, 1, 2):
        F = -magnitudes.copy()
        F[:j] *= -1
        state = State(Q=start.Q, R=start.R, T=start.T, A=start.A, v=start.v, F=F)
        # LSODA for the long full runs; DOP853 for the O(η) runs, whose units switch off (Q_kk -> 0)
        result = fixed_points(state, activation="relu", rule="dfa", eta=0.1, t_max=1e4,
                              integrator="lsoda" if eta2_terms else "dop853", rtol=1e-9, atol=1e-11,
                              eta2_terms=eta2_terms, allow_no_plateau=True)
        print(f"\n### {j} positive entries of F = {np.round(F, 3)}")
        print(result.summary())
