"""Degeneracy breaking, the figures, and the paper-level commands."""
import os

import numpy as np
import pytest

from odetheory.cli import main
from odetheory.experiments.degeneracy import degeneracy, flip_images, report


def test_flip_images_enumerate_sign_flips():
    v, F = np.array([0.5, -2.0]), np.array([1.0, 1.0])
    images = flip_images(v, F)
    assert images[0] == v @ F
    assert sorted(images) == sorted([-1.5, 2.5, -2.5, 1.5])


def test_dfa_ends_in_the_image_with_the_largest_alignment():
    """THEORY.md §6: DFA picks the global minimum with the largest v·F; BP does not care."""
    (outcomes, converged) = degeneracy(K=2, seeds=range(8), eta=0.5, t_max=3000.0)
    dfa = [o for o in outcomes["dfa"] if o.eg_final < converged]
    bp = [o for o in outcomes["bp"] if o.eg_final < converged]
    assert len(dfa) >= 6 and len(bp) >= 6
    assert all(o.at_largest for o in dfa), [(o.seed, o.rank) for o in dfa]
    assert not all(o.at_largest for o in bp)
    assert "DFA ended in the image with the largest v·F" in report((outcomes, converged))


def test_figures_quick_write_one_png_and_keep_it(tmp_path, capsys):
    """One figure in the default run (every figure: the slow test below; the deep figures'
    content: tests/test_deep.py); a second run does not overwrite it without --force."""
    assert main(["figures", "--quick", "--only", "fig3b", "--out-dir", str(tmp_path)]) == 0
    assert os.listdir(tmp_path) == ["fig3b_quick.png"] and os.path.getsize(tmp_path / "fig3b_quick.png") > 20_000
    assert main(["figures", "--quick", "--only", "fig3b", "--out-dir", str(tmp_path)]) == 2


@pytest.mark.slow
def test_figures_quick_write_every_png(tmp_path, capsys):
    code = main(["figures", "--quick", "--out-dir", str(tmp_path)])
    assert code == 0
    names = sorted(os.listdir(tmp_path))
    assert names == ["fig2_quick.png", "fig3a_quick.png", "fig3b_quick.png", "fig4_quick.png",
                     *(f"fig{k}_quick.png" for k in range(5, 10))]
    assert all(os.path.getsize(tmp_path / n) > 20_000 for n in names)
    # a second run does not overwrite without --force
    assert main(["figures", "--quick", "--only", "fig3b", "--out-dir", str(tmp_path)]) == 2


def test_compare_cli_writes_csv_and_png(tmp_path, capsys):
    out, png = tmp_path / "c.csv", tmp_path / "c.png"
    code = main(["compare", "--t-max", "20", "--seeds", "0,1", "-o", str(out), "--png", str(png)])
    assert code == 0
    text = capsys.readouterr().out
    assert "largest gap simulation vs ODE" in text
    table = np.genfromtxt(out, delimiter=",", names=True)
    assert set(table["seed"]) == {0, 1}
    assert np.max(np.abs(table["sim_eg"] - table["ode_eg"]) / table["ode_eg"]) < 0.5
    assert table["sim_eg"][0] == table["ode_eg"][0]  # same initial condition
    assert png.stat().st_size > 20_000
