"""Every option a subcommand accepts has an effect (or is rejected); output paths are checked
before the run; outputs honour the umask; errors name the flags with one prefix."""
import argparse
import os
import pickle
import stat

import numpy as np
import pytest

import simulate as simulate_pkg
from cli_runner import run_cli as run
from odetheory import cli
from odetheory.experiments import bench, compare, degeneracy, figures, fixedpoints, plearn
from odetheory.ode import integrate as integrate_mod


class Called(Exception):
    """Raised by the stand-in of an API function: what the command passed to it."""

    def __init__(self, args, kwargs):
        super().__init__("called")
        self.fingerprint = pickle.dumps((args, sorted(kwargs.items())))


def _fake(*args, **kwargs):
    raise Called(args, kwargs)


# where each subcommand hands its options over: (module, function name) replaced by _fake
TARGETS = {
    "integrate": [(integrate_mod, "integrate")],
    "simulate": [(simulate_pkg, "simulate")],
    "compare": [(compare, "compare")],
    "plearn": [(plearn, "plearn")],
    "degeneracy": [(degeneracy, "degeneracy")],
    "fixedpoints": [(fixedpoints, "fixed_points")],
    "figures": [(figures, "make_figures")],
    "bench": [(bench, "run_benchmark")],
}
OUTPUT_FLAGS = {"-h", "-o", "--npz", "--save-init", "--png", "--force", "--json", "--lengths", "--trials-file"}
# flags whose effect comes after the call that is intercepted, tested elsewhere
EXEMPT = {("fixedpoints", "--N"): "the N study runs after fixed_points (test_fixedpoints)"}


def _value(command, action, tmp_path):
    """A non-default value of an option, as command-line words."""
    flag = action.option_strings[-1]
    if action.nargs == 0:
        return [flag]
    if action.choices:
        return [flag, next(c for c in action.choices if c != action.default)]
    special = {"--init": str(tmp_path / "init.npz"), "--trajectory": str(tmp_path / "traj.npz"),
               "--times": "0.5,1", "--scheduler": "serial", "--only": "fig2", "--K": "3", "--N": "100",
               "--seeds": "3,4", "--dt": "0.01", "--workers": "1", "--fixed-point": "1", "--sim-t-max": "50",
               "--gap-until": "20", "--eta-v": "0.3", "--mc-test": "5", "--N-init": "100", "--activation": "tanh",
               "--teacher-activation": "tanh", "--eta-schedule": "power:10:0.5", "--eta-v-schedule": "steps:5=0.05"}
    if command == "plearn" and flag == "--K":
        return [flag, "2,3"]
    if flag in special:
        return [flag, special[flag]]
    d = action.default
    if isinstance(d, bool) or d is None:
        raise AssertionError(f"{command} {flag}: give a test value")
    if isinstance(d, int):
        return [flag, str(d + 1)]
    return [flag, repr(d * 2 if d else 0.5)]


def _base(command, tmp_path):
    out = str(tmp_path / "out")
    return {"integrate": ["integrate", "-o", out + ".csv"], "simulate": ["simulate", "-o", out + ".csv"],
            "compare": ["compare", "-o", out + ".csv", "--png", out + ".png"],
            "plearn": ["plearn", "-o", out + ".csv", "--png", out + ".png", "--trials-file", out + "-t.csv"],
            "degeneracy": ["degeneracy", "-o", out + ".csv"],
            "fixedpoints": ["fixedpoints", "-o", out + ".csv", "--json", out + ".json", "--png", ""],
            "figures": ["figures", "-o", str(tmp_path / "figs")], "bench": ["bench"]}[command]


def _call(argv, capsys):
    try:
        code, _, err = run(argv, capsys)
    except Called as exc:
        return exc.fingerprint, None
    return None, (code, err)


def _files(tmp_path):
    from odetheory import draw_network, integrate
    st = draw_network(2, 2, 100, 1e-2, 0).state()
    np.savez(tmp_path / "init.npz", **st.as_dict())
    integrate(st, t_max=2.0, n_times=10).to_npz(str(tmp_path / "traj.npz"))


@pytest.mark.parametrize("command", list(TARGETS))
def test_every_option_changes_something_or_is_rejected(command, tmp_path, capsys, monkeypatch):
    _files(tmp_path)
    for module, name in TARGETS[command]:
        monkeypatch.setattr(module, name, _fake)
    base = _base(command, tmp_path)
    reference, failed = _call(base, capsys)
    assert failed is None, failed
    parser = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    actions = [a for a in parser.choices[command]._actions
               if a.option_strings and a.help != argparse.SUPPRESS
               and not set(a.option_strings) & OUTPUT_FLAGS and (command, a.option_strings[-1]) not in EXEMPT]
    assert actions
    silent = []
    for action in actions:
        fingerprint, failed = _call(base + _value(command, action, tmp_path), capsys)
        if failed is not None:  # rejected: one line naming the problem, exit 2
            code, err = failed
            assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("odetheory: error: "), \
                (action.option_strings, err)
        elif fingerprint == reference:
            silent.append(action.option_strings[-1])
    assert not silent, f"{command}: accepted but without effect: {silent}"


def test_compare_seed_is_not_ignored_and_seeds_are_lists(capsys, tmp_path, monkeypatch):
    """compare --seed 5 once ran seeds 0,1,2 with a CSV identical to seed 0's; --seed now
    abbreviates --seeds, so it runs seed 5."""
    seen = {}
    monkeypatch.setattr(compare, "compare", lambda **kw: seen.update(kw) or _fake())
    with pytest.raises(Called):
        run(["compare", "--seed", "5", "-o", str(tmp_path / "x.csv"), "--png", str(tmp_path / "x.png")], capsys)
    assert seen["seeds"] == [5]
    args = cli.build_parser().parse_args(["degeneracy", "--seeds", "0..3,9"])
    assert args.seeds == [0, 1, 2, 3, 9]
    args = cli.build_parser().parse_args(["compare", "--seeds", "4"])
    assert args.seeds == [4]


@pytest.mark.parametrize("argv,flag", [
    (["integrate", "-o", "{d}"], "-o/--out"),
    (["integrate", "-o", "{d}", "--force"], "-o/--out"),
    (["integrate", "-o", "{f}", "--npz", "{d}", "--force"], "--npz"),
    (["integrate", "-o", "{f}", "--save-init", "{d}"], "--save-init"),
    (["simulate", "-o", "{f}", "--npz", "{f}"], "--npz"),
    (["compare", "-o", "{f}", "--png", "{d}", "--force"], "--png"),
    (["compare", "-o", "{f}", "--png", "{f}"], "--png"),
    (["plearn", "-o", "{f}", "--png", "{f2}", "--trials-file", "{f}"], "--trials-file"),
    (["degeneracy", "-o", "{d}"], "-o/--out"),
    (["fixedpoints", "-o", "{f}", "--json", "{d}"], "--json"),
    (["integrate", "-o", "{missing}"], "-o/--out"),
])
def test_output_paths_checked_before_the_run(argv, flag, tmp_path, capsys, monkeypatch):
    (tmp_path / "dir").mkdir()
    names = dict(d=str(tmp_path / "dir"), f=str(tmp_path / "a.csv"), f2=str(tmp_path / "b.png"),
                 missing=str(tmp_path / "no" / "a.csv"))
    for module, name in [(integrate_mod, "integrate"), (simulate_pkg, "simulate"), (compare, "compare"),
                         (plearn, "plearn"), (degeneracy, "degeneracy"), (fixedpoints, "fixed_points")]:
        monkeypatch.setattr(module, name, _fake)  # nothing may run before the check
    code, _, err = run([a.format(**names) for a in argv], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith(f"odetheory: error: {flag} ")
    assert "Traceback" not in err and sorted(os.listdir(tmp_path)) == ["dir"]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(umask, mode, tmp_path, capsys):
    old = os.umask(umask)
    try:
        code, _, _ = run(["integrate", "--t-max", "1", "-o", str(tmp_path / "a.csv"),
                          "--npz", str(tmp_path / "a.npz")], capsys)
    finally:
        os.umask(old)
    assert code == 0
    for name in ("a.csv", "a.npz"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode


@pytest.mark.parametrize("argv,words", [
    (["integrate", "--integrator", "euler"], ["--integrator euler", "--dt"]),
    (["integrate", "--dt", "0.1"], ["--dt", "euler or rk4"]),
    (["integrate", "--t-max", "0"], ["--t-max"]),
    (["integrate", "--n-times", "-1"], ["--n-times"]),
    (["simulate", "--sampler", "reduced", "--mc-test", "3"], ["--mc-test"]),
    (["fixedpoints", "--seeds", "1,2"], ["--seeds", "--N"]),
    (["compare", "--N", "0"], ["--N"]),
    (["plearn", "--K", "1"], ["--K"]),
    (["bogus"], ["invalid choice"]),
])
def test_errors_name_flags_with_one_prefix(argv, words, tmp_path, capsys):
    code, _, err = run(argv + (["-o", str(tmp_path / "x.csv")] if argv[0] != "bogus" else []), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("odetheory: error: ")
    for w in words:
        assert w in err
    for api in ("t_max", "n_times", "mc_test", "overwrite=True"):
        assert api not in err


def test_existing_output_error_names_force(tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("keep")
    code, _, err = run(["degeneracy", "-o", str(out)], capsys)
    assert code == 2 and "--force" in err and "overwrite" not in err and out.read_text() == "keep"


def test_plearn_scheduler_help_mentions_serial():
    parser = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in parser.choices["plearn"]._actions}
    assert "serial" in helps["scheduler"]
    flags = {s for a in parser.choices["figures"]._actions for s in a.option_strings}
    assert {"-o", "--out"} <= flags
    flags = {s for a in parser.choices["degeneracy"]._actions for s in a.option_strings}
    assert {"-o", "--out", "--force"} <= flags
    for command in ("integrate", "simulate", "compare"):
        assert "--init" in {s for a in parser.choices[command]._actions for s in a.option_strings}
