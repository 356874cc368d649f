"""The command line: outputs, the --init round trip, one-line errors with exit code 2."""
import os
import subprocess
import sys

import numpy as np
import pytest

from cli_runner import run_cli as run


def test_integrate_writes_csv_and_init_round_trip(tmp_path, capsys):
    a, b, init = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "init.npz"
    code, out, _ = run(["integrate", "--K", "3", "--t-max", "20", "-o", str(a), "--save-init", str(init),
                        "--npz", str(tmp_path / "a.npz")], capsys)
    assert code == 0 and "final eg" in out
    header = a.read_text().splitlines()[0].split(",")
    assert header[:3] == ["t", "eg", "cos_vF"] and "Q_3_3" in header and "R_3_2" in header and header[-1] == "v_3"
    table = np.loadtxt(a, delimiter=",", skiprows=1)
    assert table.shape == (201, 3 + 9 + 6 + 3)
    code, _, _ = run(["integrate", "--init", str(init), "--t-max", "20", "-o", str(b)], capsys)
    assert code == 0 and a.read_text() == b.read_text()
    with np.load(tmp_path / "a.npz") as data:
        assert np.allclose(data["eg"], table[:, 1])


def test_learning_rate_and_noise_reach_the_right_parameters(tmp_path, capsys):
    """THEORY.md §8: a CLI once swapped η and σ. Compare with the API."""
    from odetheory import draw_network, integrate
    out = tmp_path / "x.csv"
    run(["integrate", "--eta", "0.3", "--sigma", "0.2", "--eta-v", "0.7", "--t-max", "5", "-o", str(out)], capsys)
    st = draw_network(2, 2, 500, 1e-2, 0).state()
    ref = integrate(st, eta=0.3, sigma=0.2, eta_v=0.7, t_max=5.0)
    assert np.allclose(np.loadtxt(out, delimiter=",", skiprows=1)[:, 1], ref.eg, rtol=1e-9)


def test_never_overwrites_without_force(tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("precious")
    code, _, err = run(["integrate", "--t-max", "1", "-o", str(out)], capsys)
    assert code == 2 and "--force" in err and out.read_text() == "precious"
    code, _, _ = run(["integrate", "--t-max", "1", "-o", str(out), "--force"], capsys)
    assert code == 0 and out.read_text().startswith("t,eg")


def _bad_init(tmp_path, **change):
    from odetheory import draw_network
    st = draw_network(2, 2, 100, 0.1, 0).state().as_dict()
    st.update(change)
    path = tmp_path / "bad.npz"
    np.savez(path, **st)
    return ["--init", str(path)]


BAD = {
    # errors name the CLI flag (--t-max), not the API's name (t_max)
    "eta": (["--eta", "0"], "--eta"),
    "negative eta_v": (["--eta-v", "-1"], "--eta-v"),
    "t_max": (["--t-max", "-1"], "--t-max"),
    "K": (["--K", "0"], "--K"),
    "M": (["--M", "0"], "--M"),
    "activation": (["--activation", "tanhh(x)"], "--activation"),
    "activation free symbol": (["--activation", "x*y"], "--activation"),
    "teacher activation": (["--teacher-activation", "1/x"], "--teacher-activation"),
    "weight decay": (["--weight-decay", "-1"], "--weight-decay"),
    "schedule": (["--eta-schedule", "power:0:1"], "--eta-schedule"),
    "rule": (["--rule", "fa2"], "--rule"),
    "nan eta": (["--eta", "nan"], "--eta"),
    "sigma": (["--sigma", "-0.1"], "--sigma"),
    "euler without dt": (["--method", "euler"], "--dt"),
    "euler without dt, new flag": (["--integrator", "euler"], "--dt"),
    "times beyond t_max": (["--times", "5,200"], "--times"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_exit_2(case, tmp_path, capsys):
    argv, word = BAD[case]
    code, _, err = run(["integrate", "-o", str(tmp_path / "x.csv"), *argv], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and word in err
    assert err.startswith("odetheory: error: ")
    assert "t_max" not in err and "eta_v" not in err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("change,word", [
    (dict(Q=np.eye(3)), "shape"),
    (dict(R=np.full((2, 2), 5.0)), "positive semi-definite"),
    (dict(v=np.array([np.inf, 0.0])), "non-finite"),
    (dict(Q=np.array([[1.0, 0.2], [0.0, 1.0]])), "symmetric"),
])
def test_bad_init_file(change, word, tmp_path, capsys):
    code, _, err = run(["integrate", "-o", str(tmp_path / "x.csv"), *_bad_init(tmp_path, **change)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and word in err


def test_diverging_run_exit_3_keeps_rows(tmp_path, capsys):
    out = tmp_path / "x.csv"
    code, _, err = run(["integrate", "--activation", "linear", "--eta", "3", "--sigma", "0.5",
                        "--fix-second-layer", "--sigma0", "0.5", "--N", "100", "--seed", "1",
                        "-o", str(out)], capsys)
    assert code == 3 and "stopped at t =" in err
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert 2 <= len(rows) < 201 and np.all(np.isfinite(rows))


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "odetheory", "integrate", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--eta" in res.stdout and "default" in res.stdout


@pytest.mark.parametrize("argv", [["integrate", "--help"], ["integrate", "--t-max", "1", "-o", "run.csv"]])
def test_a_closed_pipe_stops_quietly(argv, tmp_path):
    """`odetheory ... | head`: when the reader of stdout has gone, no traceback, the command's
    own exit code, and a run still writes its outputs."""
    read, write = os.pipe()
    os.close(read)  # every write to stdout fails with EPIPE
    res = subprocess.run([sys.executable, "-m", "odetheory", *argv], stdout=write, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path)
    os.close(write)
    assert res.returncode == 0 and "Traceback" not in res.stderr and "Exception" not in res.stderr, res.stderr
    if "-o" in argv:
        assert (tmp_path / "run.csv").read_text().startswith("t,eg")


def test_lsoda_and_reduced_sampler_from_the_command_line(tmp_path, capsys):
    code, out, _ = run(["integrate", "--method", "lsoda", "--rtol", "1e-8", "--t-max", "20",
                        "-o", str(tmp_path / "a.csv")], capsys)
    assert code == 0 and "lsoda" in out
    code, _, _ = run(["simulate", "--sampler", "reduced", "--t-max", "5", "-o", str(tmp_path / "b.csv")], capsys)
    assert code == 0 and (tmp_path / "b.csv").read_text().startswith("t,eg")
    for argv, word in ((["--mc-test", "10"], "test set"), (["--N", "4"], "N > K + M")):
        code, _, err = run(["simulate", "--sampler", "reduced", "--t-max", "1", *argv,
                            "-o", str(tmp_path / "c.csv")], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and word in err
    assert not (tmp_path / "c.csv").exists()
