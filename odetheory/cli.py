"""Command-line interface: a thin layer over the Python API.

Every subcommand turns its options into one API call; bad input ends with a
one-line error on stderr and exit code 2, a diverged run with exit code 3.
"""
import argparse
import os
import re
import signal
import sys
import threading

import numpy as np

from .errors import InputError
from .options import OPTIONS, check, defaults, flag, parse_list
from .status import INTERRUPTED
from .stdout import reader_may_leave

EXIT_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


PREFIX = "odetheory: error: "


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage dump) with exit code 2, with the
    prefix of every other error."""

    def error(self, message):
        m = re.match(r"argument ([^:]+): (.*)", message)
        if m and any(m.group(2).startswith(f) for f in m.group(1).split("/")):
            message = m.group(2)  # "argument --eta: --eta must be ..." -> "--eta must be ..."
        self.exit(EXIT_INPUT, PREFIX + message + "\n")


_UNSET = object()


def _option_type(name, label):
    """argparse type of schema option `name`: parses the text and checks it with the schema;
    the error names `label` (the flag)."""
    opt = OPTIONS[name]
    kind = opt.base

    def parse(text):
        try:
            if kind in ("ints", "floats"):
                value = parse_list(text, kind[:-1])
            elif kind == "str":
                value = text
            elif kind == "int":
                value = int(text)
            else:
                value = float(text)
        except ValueError:
            what = {"ints": "comma-separated integers (a..b for a range)", "floats": "comma-separated numbers",
                    "int": "an integer"}.get(kind, "a number")
            raise argparse.ArgumentTypeError(f"{label} must be {what}, got {text!r}") from None
        try:
            return check(name, value, label)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = kind  # argparse names the type in some messages
    return parse


def _add(group, name, context=None, default=_UNSET, help=None, flags=None, dest=None, choices=None):
    """Add schema option `name` to an argparse group: flag, type, default (of `context`,
    or `default`), choices and help from ``odetheory.options``; its hidden aliases too."""
    opt = OPTIONS[name]
    flags = flags or (flag(name),)
    dest = dest or name
    value = defaults(context)[name] if default is _UNSET else default
    text = help or opt.help
    if opt.base == "bool":
        group.add_argument(*flags, dest=dest, action="store_false" if opt.negate else "store_true",
                           default=value, help=text)
        return
    kw = dict(dest=dest, default=value)
    if opt.base == "choice":
        kw["choices"] = choices or opt.bound
    else:
        kw["type"] = _option_type(name, flags[-1])
    if value is not None:
        shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:g}" \
            if isinstance(value, float) else value
        text = f"{text} (default: {shown})"
    group.add_argument(*flags, help=text, **kw)
    for alias in opt.aliases:
        group.add_argument(alias, help=argparse.SUPPRESS, **{**kw, "default": argparse.SUPPRESS})


EXTENSIONS = ("teacher_activation", "weight_decay", "weight_decay_v", "eta_schedule", "eta_v_schedule")


def _model_options(p, context=None, exclude=()):
    g = p.add_argument_group("model and learning rule")
    for name in ("activation", "teacher_activation", "rule", "eta", "eta_v", "train_second_layer", "sigma",
                 "weight_decay", "weight_decay_v", "eta_schedule", "eta_v_schedule", "t_max", "times", "n_times"):
        if name not in exclude:
            _add(g, name, context)


def _list_of(name, label):
    """argparse type: comma-separated values (a..b ranges) of schema option `name`, each checked."""
    def parse(text):
        try:
            values = parse_list(text, "int" if OPTIONS[name].base == "int" else "float")
        except ValueError:
            raise argparse.ArgumentTypeError(f"{label} must be comma-separated numbers, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{label}: give at least one value")
        try:
            return [check(name, v, label) for v in values]
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _sampler_option(p, context=None):
    _add(p, "sampler", context)


INIT_HELP_ODE = ("start from the order parameters in FILE.npz (keys Q, R, T, A, v, optional F) instead of "
                 "drawing them; K, M, N, seed, sigma0 are then ignored")
INIT_HELP_SIM = ("start from the order parameters in FILE.npz (keys Q, R, T, A, v, optional F): weights at --N "
                 "whose overlaps are exactly Q, R, T (a random orthonormal frame of R^N from --seed); K, M, sigma0 "
                 "are then ignored")


def _init_options(p, with_init_file, several_N=False, n_flag="--N", init_help=INIT_HELP_ODE, context=None,
                  seeds=False):
    g = p.add_argument_group("initial condition (drawn as weights at finite N)")
    _add(g, "K", context)
    _add(g, "M", context)
    if n_flag != "--N":
        _add(g, "N", context, flags=(n_flag,), help="input dimension N >= 1 of the drawn initial weights")
    elif several_N:
        _add(g, "Ns", context)
    else:
        _add(g, "N", context)
    if seeds:
        _add(g, "seeds", context)
    else:
        _add(g, "seed", context)
    for name in ("sigma0", "teacher_second_layer", "feedback"):
        _add(g, name, context)
    if with_init_file:
        g.add_argument("--init", metavar="FILE.npz", default=None, help=init_help)


def _output_options(p, default_out):
    g = p.add_argument_group("output")
    g.add_argument("-o", "--out", default=default_out,
                   help=f"CSV file: header row, columns t, eg, cos_vF, Q_k_l, R_k_m, v_k (default: {default_out})")
    g.add_argument("--npz", metavar="FILE.npz", default=None, help="also write the trajectory as numpy arrays")
    g.add_argument("--save-init", metavar="FILE.npz", default=None,
                   help="write the initial order parameters used, in the --init format")
    g.add_argument("--force", action="store_true", help="overwrite existing output files")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress bar (by default one appears on a terminal for runs longer than 2 s)")


def _csv_and_png(p, stem, csv_help, png_help):
    """-o/--out STEM.csv, --png STEM.png and --force."""
    p.add_argument("-o", "--out", default=f"{stem}.csv", help=f"{csv_help} (default: {stem}.csv)")
    p.add_argument("--png", default=f"{stem}.png", help=f"{png_help} (default: {stem}.png)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")


def _solver_options(p, context=None):
    g = p.add_argument_group("integrator")
    for name in ("integrator", "rtol", "atol", "dt", "eta2_terms"):
        _add(g, name, context)


def _check_integrator(args):
    """--integrator euler/rk4 need --dt, and only they take it: said before anything runs."""
    if args.integrator in ("euler", "rk4") and args.dt is None:
        raise InputError(f"--integrator {args.integrator} takes fixed steps: give --dt")
    if args.integrator not in ("euler", "rk4") and args.dt is not None:
        raise InputError(f"--dt is the step of --integrator euler or rk4; --integrator {args.integrator} chooses "
                         f"its own steps (--rtol, --atol)")


# options of the fixedpoints N study: without --N they would do nothing
_STUDY = ("seeds", "sampler", "fixed_point", "sim_t_max", "workers")


def _check_outputs(args, flags, force=None, appended=()):
    """Every output path (the values of `flags`, e.g. ("--out", "--npz")) checked before the
    run: not a directory, its folder exists, not existing unless --force, no two the same
    file. `appended`: flags of files that are appended to (they may exist). One-line errors
    naming the flag."""
    from .io import check_output
    force = args.force if force is None else force
    seen = {}
    for name in flags:
        path = getattr(args, name.lstrip("-").replace("-", "_"))
        if not path:
            continue
        label = "-o/--out" if name == "--out" else name
        check_output(path, force or name in appended, label)
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{label} {path}: the same file as {seen[real]}; give each output its own file")
        seen[real] = label


def _load_init(path):
    """State from --init FILE.npz; its errors name the flag."""
    from .state import load_state
    try:
        return load_state(path)
    except InputError as exc:
        raise InputError(f"--init {path}: {exc}") from None


def _initial_state(args):
    from .initial import draw_network
    if getattr(args, "init", None):
        return _load_init(args.init)
    return draw_network(args.K, args.M, args.N, args.sigma0, args.seed,
                        args.teacher_second_layer, args.feedback).state()


def _initial_network(args):
    """Weights at --N: drawn, or (--init) with exactly the overlaps of the file."""
    from .initial import draw_network, network_from_state
    if getattr(args, "init", None):
        return network_from_state(_load_init(args.init), args.N, args.seed)
    return draw_network(args.K, args.M, args.N, args.sigma0, args.seed, args.teacher_second_layer, args.feedback)


def _save_init(state, path, force):
    from .io import atomic_write
    with atomic_write(path, force, mode="wb") as fh:
        np.savez(fh, **state.as_dict())


def summary(traj, label):
    """Short text summary of a Trajectory: final ε_g, plateau, run time."""
    from .plateaus import plateau
    lines = [label, f"  final eg = {traj.eg[-1]:.6g} at t = {traj.t[-1]:.6g}, cos(v,F) = {traj.cos_vF[-1]:.4f}"]
    pl = plateau(traj.t, traj.eg)
    if pl is None:
        lines.append("  no plateau")
    else:
        height, start, escape = pl
        left = f"left at t = {escape:.4g}" if np.isfinite(escape) else "not left by the end"
        lines.append(f"  plateau: eg ≈ {height:.4g} from t = {start:.4g}, {left}")
    evals = f" ({traj.nfev} right-hand-side evaluations)" if traj.nfev else ""
    compiled = traj.settings.get("compile_time", 0.0)
    compiled = f"; compiling (or loading) the kernels before it {compiled:.3g} s" if compiled else ""
    lines.append(f"  run time {traj.wall_time:.3g} s{evals}{compiled}")
    return "\n".join(lines)


def _write(traj, args):
    traj.to_csv(args.out, args.force)
    written = [args.out]
    if args.npz:
        traj.to_npz(args.npz, args.force)
        written.append(args.npz)
    return written


TRAJECTORY_OUTPUTS = ("--out", "--npz", "--save-init")


def cmd_integrate(args):
    from .ode.integrate import integrate
    _check_integrator(args)
    _check_outputs(args, TRAJECTORY_OUTPUTS)
    state = _initial_state(args)
    if args.save_init:
        _save_init(state, args.save_init, args.force)
    traj = integrate(state, integrator=args.integrator, rtol=args.rtol, atol=args.atol, dt=args.dt,
                     n_times=args.n_times, eta2_terms=args.eta2_terms, progress=not args.no_progress,
                     **_run_options(args))
    label = (f"ODE {args.activation} {args.rule.upper()}  K={state.K} M={state.M}  eta={args.eta:g}  "
             f"t_max={args.t_max:g}  ({args.integrator})")
    return _report_and_write(traj, args, label)


def _report_and_write(traj, args, label, extra=()):
    """Print the summary (and extra lines), write the outputs; exit code 3 if the run diverged."""
    print(summary(traj, label))
    for line in extra:
        print(line)
    written = _write(traj, args)
    print("  wrote " + ", ".join(written))
    if not traj.success:
        print(f"odetheory: {traj.message}", file=sys.stderr)
        return EXIT_INTERRUPTED if traj.status == INTERRUPTED else EXIT_DIVERGED
    return 0


def _run_options(args):
    return dict(activation=args.activation, rule=args.rule, eta=args.eta, eta_v=args.eta_v, sigma=args.sigma,
                t_max=args.t_max, times=getattr(args, "times", None), train_second_layer=args.train_second_layer,
                **{name: getattr(args, name) for name in EXTENSIONS})


def cmd_simulate(args):
    from simulate import simulate
    _check_outputs(args, TRAJECTORY_OUTPUTS)
    net = _initial_network(args)
    if args.save_init:
        _save_init(net.state(), args.save_init, args.force)
    traj = simulate(net, seed=args.seed, mc_test=args.mc_test, sampler=args.sampler, progress=not args.no_progress,
                    n_times=args.n_times, **_run_options(args))
    label = (f"SGD {args.activation} {args.rule.upper()}  N={args.N} K={net.W.shape[0]} M={net.B.shape[0]}  "
             f"eta={args.eta:g}  "
             f"t_max={args.t_max:g}  seed={args.seed}")
    extra = []
    if args.mc_test and len(traj.eg_mc):
        extra.append(f"  Monte-Carlo test error on {args.mc_test} inputs at t = {traj.t[-1]:.6g}: "
                     f"{traj.eg_mc[-1]:.6g} ± {traj.eg_mc_se[-1]:.2g} (exact: {traj.eg[-1]:.6g})")
    return _report_and_write(traj, args, label, extra)


def cmd_compare(args):
    from .experiments.compare import compare
    _check_outputs(args, ("--out", "--png"))
    from .plotting import save_figure
    opts = _run_options(args)
    del opts["times"]
    init = _load_init(args.init) if args.init else None
    result = compare(K=args.K, M=args.M, Ns=args.Ns, seeds=args.seeds, sigma0=args.sigma0, init=init,
                     teacher_second_layer=args.teacher_second_layer, feedback=args.feedback,
                     rtol=args.rtol, atol=args.atol, gap_until=args.gap_until, workers=args.workers,
                     sampler=args.sampler, n_times=args.n_times, **opts)
    print(result.summary())
    result.to_csv(args.out, args.force)
    save_figure(result.plot(), args.png, args.force)
    print(f"  wrote {args.out}, {args.png}")
    failed = [r for r in result.runs if not (r.sim.success and r.ode.success)]
    return EXIT_DIVERGED if failed else 0


def cmd_plearn(args):
    from .experiments.plearn import plearn
    from .plotting import save_figure
    _check_outputs(args, ("--out", "--png", "--trials-file"), appended=("--trials-file",))
    result = plearn(Ks=args.Ks, M=args.M, trials=args.trials, method=args.method, N=args.N, eta=args.eta,
                    sigma0=args.sigma0, t_max=args.t_max, threshold=args.threshold, results_path=args.trials_file,
                    scheduler=args.scheduler, workers=args.workers, sampler=args.sampler, seed=args.seed)
    print(result.summary())
    result.to_csv(args.out, args.force)
    save_figure(result.plot(), args.png, args.force)
    print(f"  wrote {args.out}, {args.png}; finished trials are kept in {args.trials_file}")
    return 0


def cmd_degeneracy(args):
    from .experiments.degeneracy import degeneracy, report, to_csv
    _check_outputs(args, ("--out",))
    result = degeneracy(K=args.K, seeds=args.seeds, N=args.N, eta=args.eta, t_max=args.t_max,
                        converged=args.converged, workers=args.workers)
    print(report(result))
    to_csv(result, args.out, args.force)
    print(f"  wrote {args.out}")
    return 0


def cmd_figures(args):
    from .experiments.figures import make_figures
    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise InputError(f"-o/--out {args.out_dir}: not a folder")
    for path in make_figures(args.out_dir, only=args.only, quick=args.quick, overwrite=args.force):
        print(f"wrote {path}")
    return 0


def cmd_bench(args):
    from .experiments.bench import run_benchmark
    run_benchmark(quick=args.quick)
    return 0


def cmd_sweep(args):
    from .sweep.spec import main as sweep_main
    return sweep_main(args)


def cmd_deep(args):
    from .experiments.deep import (GAUSSIAN_ONLY, OPTIONS, normalise, plot_alignment, plot_layerwise, plot_training,
                                   run_deep)
    from .plotting import new_figure, save_figure
    _check_outputs(args, ("--out", "--png"))
    options = {name: getattr(args, name) for name in OPTIONS}
    if options["dataset"] != "gaussian":
        for name in GAUSSIAN_ONLY:
            if options[name] is not None:
                raise InputError(f"--{name.replace('_', '-')} is an option of --dataset gaussian only")
    opts = normalise(options, label=lambda name: "--" + name.replace("_", "-"))
    result = run_deep(**opts)
    print(result.summary())
    result.to_csv(args.out, args.force)
    written = [args.out]
    if args.png:
        fig, axes = new_figure(1, 3, figsize=(13, 3.8))
        plot_training(result, axes[0], what="accuracy" if result.task == "classification" else "loss",
                      labels=[result.options["rule"].upper()])
        plot_alignment(result, axes[1], labels=[result.options["rule"].upper()])
        plot_layerwise(result, axes[2])
        fig.suptitle(f"{result.label()}; {result.data_name}", fontsize=9)
        fig.tight_layout()
        save_figure(fig, args.png, args.force)
        written.append(args.png)
    print("  wrote " + ", ".join(written))
    return 0 if result.run.success else EXIT_DIVERGED


def _add_deep_parser(sub):
    from .experiments.deep_options import OPTIONS
    p = sub.add_parser("deep", help="train a deep network by BP, FA or DFA; weight and gradient alignment per epoch",
                       description="Train one fully connected network (no biases) with mini-batch SGD by BP, FA or "
                                   "DFA (THEORY.md §12) and write per recorded epoch: the training loss and accuracy, "
                                   "the global weight and gradient alignment WA and GA (paper Eq. 18) and the "
                                   "layerwise WA_l, l = 2..L, and GA_l, l = 1..L-1 (Eq. 19), all measured on the "
                                   "whole training set. GA compares the error signals with those BP would send at "
                                   "the same weights. Exit code 3 if the loss became non-finite.")
    groups = {"data": p.add_argument_group("data"), "network and training": p.add_argument_group("network and training"),
              "seeds": p.add_argument_group("random streams")}
    for name, opt in OPTIONS.items():
        group = ("data" if name in ("dataset", "n_examples", "input_dim", "alpha", "beta", "corrupt") else
                 "seeds" if name.endswith("seed") else "network and training")
        kind = opt.kind.rstrip("?")
        typ = {"int": int, "float": float, "fraction": float}.get(kind, str)
        default = None if opt.kind.endswith("?") else opt.default
        text = opt.help if default is None else f"{opt.help} (default: {default})"
        extra = dict(choices=opt.bound) if kind == "choice" else {}
        groups[group].add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=default,
                                   help=text, **extra)
    g = p.add_argument_group("output")
    g.add_argument("-o", "--out", default="deep.csv",
                   help="CSV file: header row, columns epoch, loss, accuracy, WA, GA, WA_2..WA_L, GA_1..GA_{L-1} "
                        "(default: deep.csv)")
    g.add_argument("--png", default=None, help="also plot accuracy (or loss), WA, GA and the layerwise "
                                               "alignments into this PNG file (default: no plot)")
    g.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_deep)


def _add_sweep_parser(sub):
    p = sub.add_parser("sweep", help="run a grid of ODE or simulation points on Dask (resumable)",
                       description="Run every point of the grid in SPEC (TOML, or JSON if it ends in .json; see "
                                   "README, Sweeps) on Dask: by default a local cluster of single-threaded worker "
                                   "processes, started and stopped here. One row per point (options, measurements, "
                                   "run time in s, status) is appended to the results file as points finish; "
                                   "points already there are skipped, so running the command again resumes it. "
                                   "Exit code 0 when every point has a row (diverged and failed points included), "
                                   "1 when some could not be run, 2 for bad input, 130 when interrupted.")
    p.add_argument("spec", metavar="SPEC", help="the sweep specification (.toml or .json)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="an existing Dask scheduler: tcp://host:port, or the JSON file of dask scheduler "
                        "--scheduler-file; 'serial' runs the points one by one in this process without Dask "
                        "(default: start a local cluster)")
    _add(p, "workers", help="worker processes of the local cluster, one thread each (default: number of cores)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="points per Dask task (default: adaptive, about 0.5 s of compute per task)")
    p.add_argument("--results", metavar="FILE", default=None,
                   help="CSV results file, appended to and used to resume (default: SPEC's name with .csv, "
                        "beside SPEC)")
    p.add_argument("--plot", nargs=3, metavar=("X", "Y", "Z"), default=None,
                   help="after the run, draw a heat map of measurement Z (e.g. eg_final, learned = P(learn)) "
                        "over options X and Y (e.g. eta seed), averaged over the other options")
    p.add_argument("--png", metavar="FILE", default=None,
                   help="file of the heat map (default: results file's name + _Z_X_Y.png)")
    p.add_argument("--force", action="store_true", help="overwrite an existing heat-map PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def cmd_fixedpoints(args):
    from .experiments.fixedpoints import run_command
    _check_integrator(args)
    if args.N_list is None:
        study = _subparser_defaults(args)
        for name in _STUDY:
            given, default = getattr(args, name), study[name]
            if (list(given) if isinstance(given, tuple) else given) != (
                    list(default) if isinstance(default, tuple) else default):
                raise InputError(f"{flag(name)} is an option of the N study: give --N too")
    _check_outputs(args, ("--out", "--json", "--png") + (("--lengths",) if args.N_list is not None else ()))
    init = _load_init(args.init) if args.init else None
    state = None if args.trajectory else (init if init is not None else _initial_state(args))
    return run_command(args, state, init)


def _add_fixedpoints_parser(sub):
    p = sub.add_parser("fixedpoints", help="fixed points behind the plateaus, their spectra, plateau length vs N",
                       description="Integrate the ODEs (options of integrate, or --trajectory), find every plateau "
                                   "and the end state, refine each to a zero of the full right-hand side (damped "
                                   "Newton, eta^2 terms included) and print its spectrum: eigenvalues of the "
                                   "Jacobian, unstable and zero modes, the leading rate lambda+ and its direction. "
                                   "With --N, finite-N simulations started at a saddle measure how long they stay, "
                                   "against ln N, beside 1/(2 lambda+).")
    _model_options(p, "fixedpoints", exclude=EXTENSIONS)
    _init_options(p, with_init_file=True, n_flag="--N-init", context="fixedpoints")
    _solver_options(p, "fixedpoints")
    g = p.add_argument_group("what to analyse")
    g.add_argument("--trajectory", metavar="FILE", default=None,
                   help="analyse this run instead of integrating: the .npz of integrate --npz, or its CSV together "
                        "with the run's --init FILE.npz (model options must be those of the run)")
    g.add_argument("--end-state", action="store_true",
                   help="accept a run without a plateau and refine its end state only (default: such a run is an "
                        "error)")
    g = p.add_argument_group("plateau length against N (finite-N simulations started at a saddle)")
    g.add_argument("--N", type=_list_of("N", "--N"), default=None, dest="N_list",
                   help="input dimensions, comma-separated, e.g. 250,500,1000,2000,4000,8000 (default: no study)")
    _add(g, "seeds", "fixedpoints", help="seeds, comma-separated, a..b for a range; one simulation per N and seed")
    _sampler_option(g, "fixedpoints")
    g.add_argument("--fixed-point", type=int, default=None,
                   help="number (1, 2, ... as printed) of the saddle to start from (default: the first saddle)")
    g.add_argument("--sim-t-max", type=float, default=None,
                   help="length of each simulation in alpha (default: (ln N_max / 2 + 8) / lambda+)")
    _add(g, "workers", help="parallel simulations (default: number of cores)")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--out", default="fixedpoints.csv",
                   help="CSV, one row per fixed point (default: fixedpoints.csv)")
    g.add_argument("--json", default="fixedpoints.json", help="the full report as JSON (default: fixedpoints.json)")
    g.add_argument("--png", default="fixedpoints.png",
                   help="plot: eg with the fixed points marked, their spectra, and the N study (default: "
                        "fixedpoints.png; '' for none)")
    g.add_argument("--lengths", default="fixedpoints_lengths.csv",
                   help="CSV of the N study: N, seed, escape time (default: fixedpoints_lengths.csv)")
    g.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_fixedpoints)


def _subparser_defaults(args):
    """{dest: default} of the subcommand of args."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.default for a in action.choices[args.command]._actions}


def build_parser():
    parser = _Parser(prog="odetheory",
                     description="ODE theory and finite-N simulations of online learning in two-layer "
                                 "teacher-student networks with back-propagation (BP) and direct feedback "
                                 "alignment (DFA). Time α is measured in steps/N; ε_g = ½ E[(ŷ − y)²].")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("integrate", help="integrate the order-parameter ODEs",
                       description="Integrate the ODEs for Q, R, v (THEORY.md §3) from an initial condition "
                                   "drawn at finite N or read from --init, and write the trajectory.")
    _model_options(p)
    _init_options(p, with_init_file=True)
    _solver_options(p)
    _output_options(p, "integrate.csv")
    p.set_defaults(func=cmd_integrate)

    p = sub.add_parser("simulate", help="finite-N online SGD with the ODE's scalings",
                       description="Online SGD of the two-layer student at finite N, one fresh Gaussian input per "
                                   "step, with the scalings under which it follows the ODE. Writes the same CSV "
                                   "layout as integrate; ε_g is computed exactly from the order parameters.")
    _model_options(p)
    _init_options(p, with_init_file=True, init_help=INIT_HELP_SIM)
    _add(p, "mc_test")
    _sampler_option(p)
    _output_options(p, "simulate.csv")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("compare", help="simulation against the ODE from the same initial condition (main job)",
                       description="Draw an initial condition per seed (and N), run the finite-N simulation and "
                                   "the ODE from the simulation's own initial order parameters, print the largest "
                                   "gaps, and write both trajectories (CSV) and a plot (PNG). Defaults: erf DFA, "
                                   "N=500, K=M=2, eta=0.5, t-max=300, seeds 0,1,2.")
    _model_options(p, "compare", exclude=("times",))
    _init_options(p, with_init_file=True, several_N=True, context="compare", seeds=True,
                  init_help=INIT_HELP_SIM.replace("--N", "each --N").replace("--seed", "each seed"))
    _sampler_option(p, "compare")
    _add(p, "gap_until", "compare")
    _add(p, "rtol", "compare", help="relative tolerance of the ODE")
    _add(p, "atol", "compare", help="absolute tolerance of the ODE")
    _add(p, "workers", "compare", help="parallel runs (default: number of cores)")
    _csv_and_png(p, "compare", "CSV: N, seed, t, then sim_* and ode_* columns", "plot of ε_g and cos(v,F) against α")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("plearn", help="probability that a ReLU student learns under DFA, against K",
                       description="ReLU teacher (A_m = 1) and student, DFA with F_k ~ N(0,1): many independent "
                                   "trials per K, each classified as learned when its final ε_g is below --threshold. "
                                   "Prints and writes the learned fraction with a 95% Wilson interval next to "
                                   "2^-K Σ_{j=M..K} C(K,j) and the formula as printed in the paper (Σ_{j=0..M}), "
                                   "and a cross-table by the number of positive entries of F. Finished trials are "
                                   "kept in --trials-file and not recomputed when the command runs again.")
    _add(p, "Ks", "plearn")
    _add(p, "M", "plearn")
    _add(p, "trials", "plearn")
    _add(p, "method", "plearn", choices=("sim", "ode", "both"),
         help="sim: finite-N simulation; ode: the ODE from finite-N initial conditions; both")
    _add(p, "N", "plearn")
    _sampler_option(p, "plearn")
    _add(p, "eta", "plearn", help="learning rate η = η_v, > 0")
    _add(p, "sigma0", "plearn")
    _add(p, "t_max", "plearn", help="length of each trial in α = steps/N, > 0")
    _add(p, "threshold", "plearn")
    _add(p, "seed", "plearn", help="base seed: trial i at size K runs with its own stream from (seed, K, i)")
    p.add_argument("--trials-file", default="plearn-trials.csv",
                   help="CSV of finished trials, appended to and reused on re-runs (default: plearn-trials.csv)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="an existing Dask scheduler: tcp://host:port, or the JSON file of dask scheduler "
                        "--scheduler-file; 'serial' runs the trials one by one in this process without Dask "
                        "(default: start a local cluster)")
    _add(p, "workers", "plearn", help="local worker processes (default: number of cores)")
    _csv_and_png(p, "plearn", "summary CSV per method and K", "plot of P(learn) and of the final ε_g")
    p.set_defaults(func=cmd_plearn)

    p = sub.add_parser("degeneracy", help="which sign-flip global minimum DFA and BP end in (erf, K = M)",
                       description="erf, K = M, ODE from finite-N initial conditions: for each seed, the final "
                                   "v·F of the learned solution against all its sign-flip images "
                                   "(w_k, v_k) -> (-w_k, -v_k), for DFA and BP; prints the fraction of runs that "
                                   "ended in the image with the largest v·F.")
    _add(p, "K", "degeneracy", help="K = M hidden units")
    _add(p, "seeds", "degeneracy", help="seeds, comma-separated, a..b for a range (e.g. 0..19), one run per "
                                        "seed and rule")
    _add(p, "N", "degeneracy", help="N of the drawn initial conditions")
    _add(p, "eta", "degeneracy", help="learning rate η = η_v, > 0")
    _add(p, "t_max", "degeneracy", help="length of each run in α, > 0")
    _add(p, "converged", "degeneracy")
    _add(p, "workers", "degeneracy", help="parallel runs (default: number of cores)")
    p.add_argument("-o", "--out", default="degeneracy.csv",
                   help="CSV, one row per rule and seed: final eg, v·F, rank among the images (default: "
                        "degeneracy.csv)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=cmd_degeneracy)

    p = sub.add_parser("figures", help="regenerate the paper's figures",
                       description="Regenerate Fig. 2, 3a, 3b and 4 of Refinetti et al. (ICML 2021) from "
                                   "simulations and the ODEs into --out-dir. --quick uses N = 200, α <= 2000, "
                                   "2 runs and 8 P(learn) trials per K and writes *_quick.png. Figs. 5-9 (deep "
                                   "networks, on scikit-learn's digits and the Fig. 8 Gaussian task): 3 runs of "
                                   "1000 epochs each (Fig. 7: 3000, Fig. 8: 5 seeds per grid point); --quick: "
                                   "1 run of 60 epochs, a 3 x 3 grid for Fig. 8.")
    p.add_argument("--only", type=lambda t: [x for x in t.split(",") if x], default=None,
                   help="comma-separated subset of fig2,fig3a,fig3b,fig4,fig5,fig6,fig7,fig8,fig9 (default: all)")
    p.add_argument("--quick", action="store_true", help="small, fast version of every figure")
    p.add_argument("-o", "--out", dest="out_dir", default="figures", help="folder for the PNG files (default: figures)")
    p.add_argument("--out-dir", dest="out_dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true", help="overwrite existing PNG files")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("bench", help="benchmark the integrator against fixed-step Euler",
                       description="erf DFA, K=3, M=2, eta=0.5 to t=200: adaptive DOP853 against Euler at "
                                   "dt=1/500 and dt=5e-5 in one run, CLI start-up time, and the cost of one "
                                   "right-hand-side evaluation for K = M = 2..32.")
    p.add_argument("--quick", action="store_true", help="skip the dt=5e-5 Euler run and K = M = 32")
    p.set_defaults(func=cmd_bench)
    _add_sweep_parser(sub)
    _add_deep_parser(sub)
    _add_fixedpoints_parser(sub)
    return parser


# API words that mean a flag on the command line
_API_WORDS = {"overwrite=True": "--force", "method=": "--method ", "integrator=": "--integrator "}


def cli_message(exc):
    """The message of an InputError raised by the API, in the command line's words: the option
    at fault (``exc.option``, e.g. t_max) named by its flag (--t-max), overwrite=True by --force."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    name = getattr(exc, "option", None)
    if name in OPTIONS or name in ("overwrite",):
        for word, cli in _API_WORDS.items():
            text = text.replace(word, cli)
        if name in OPTIONS:
            text = re.sub(rf"(?<![\w\-.]){re.escape(name)}(?![\w\-])", flag(name), text, count=1)
    # names with an underscore cannot be prose: t_max -> --t-max wherever it appears
    for other in OPTIONS:
        if "_" in other:
            text = re.sub(rf"(?<![\w\-.]){re.escape(other)}(?![\w\-])", flag(other), text)
    return text


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops a run like Ctrl-C: rows so far are written


def main(argv=None):
    """Run one command line; returns the exit code. Printing stops quietly when the reader
    of stdout goes away (`odetheory ... | head`); the command still writes its outputs."""
    with reader_may_leave():
        return _run(argv)


def _run(argv):
    # the command line draws into files only: the non-interactive backend, unless the user
    # chose one (the library itself never picks a backend, so a notebook keeps its own)
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        return args.func(args)
    except InputError as exc:
        print(PREFIX + cli_message(exc), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:  # outside a run that keeps its rows (start-up, writing)
        print("odetheory: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
