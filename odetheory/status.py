"""How a run ended: status codes shared by the ODE solvers and the simulators.

A run that stops early keeps the rows computed until then; its Trajectory carries
the code and a message naming the time.
"""
SUCCESS, NONFINITE, NOT_PSD, STEP_FAILURE, INTERRUPTED, STIFF = 0, 1, 2, 3, 4, 5
STATUS_MESSAGES = {
    SUCCESS: "reached the final time",
    NONFINITE: "the state blew up (an entry became non-finite or exceeded 1e10 in size)",
    NOT_PSD: "the covariance C = [[Q, R], [R^T, T]] left the positive semi-definite cone",
    STEP_FAILURE: "the step size fell below machine precision or the step limit was reached",
    INTERRUPTED: "interrupted",
    STIFF: "the problem became stiff (DOP853's steps are limited by stability, not accuracy)",
}
BLOWUP = 1e10  # an order parameter this large means the run has diverged
