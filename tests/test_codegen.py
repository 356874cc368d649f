"""The committed closed-form kernels are exactly what the generator writes from the derivation."""
import pathlib

from odetheory.integrals import codegen


def test_generated_kernels_are_up_to_date():
    committed = pathlib.Path(codegen.TARGET).read_text()
    assert committed == codegen.generate(), (
        "odetheory/integrals/_generated.py differs from the derivation: run python -m odetheory.integrals.codegen")


def test_generated_module_is_the_only_closed_form_source():
    # the kernels module re-exports the generated dispatchers; no hand-written copy remains
    from odetheory.integrals import _generated, kernels
    for name in ("i2", "j2", "i3", "i4"):
        assert getattr(kernels, name) is getattr(_generated, name)
