"""The order-parameter ODE: the problem, its right-hand side, solvers that take any
right-hand side, ``integrate`` and the ``Trajectory`` it returns."""
