"""The Gaussian integrals I2, J2, I3, I4 of THEORY.md §2–4: activations, their symbolic
derivation and code generator, the compiled closed-form kernels, and the numerical ReLU I4."""
