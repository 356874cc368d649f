"""Command-line interface: a thin layer over the Python API.

Every subcommand turns its options into one API call; bad input ends with a
one-line error on stderr and exit code 2, a diverged run with exit code 3.
"""
import argparse
import os
import signal
import sys
import threading

import numpy as np

from .errors import InputError
from .status import INTERRUPTED

EXIT_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage dump) with exit code 2."""

    def error(self, message):
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _float_list(text):
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _int_list(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _model_options(p, eta=0.1, t_max=100.0):
    g = p.add_argument_group("model and learning rule")
    g.add_argument("--activation", choices=("erf", "linear", "relu"), default="erf",
                   help="activation g of teacher and student: erf = erf(x/√2), linear, relu (default: erf)")
    g.add_argument("--rule", choices=("bp", "dfa", "sign"), default="dfa",
                   help="feedback f of the first-layer update: bp (f = v), dfa (f = F), sign (f = sign v) (default: dfa)")
    g.add_argument("--eta", type=float, default=eta, help=f"first-layer learning rate η, > 0 (default: {eta:g})")
    g.add_argument("--eta-v", type=float, default=None,
                   help="second-layer learning rate η_v, > 0 (default: same as --eta)")
    g.add_argument("--fix-second-layer", action="store_true", help="keep the student's second layer v fixed")
    g.add_argument("--sigma", type=float, default=0.0,
                   help="standard deviation σ of the teacher's output noise, >= 0 (default: 0)")
    g.add_argument("--t-max", type=float, default=t_max,
                   help=f"final time α = steps/N, > 0 (default: {t_max:g})")
    g.add_argument("--times", type=_float_list, default=None,
                   help="extra output times α, comma-separated, in [0, t-max]; the run lands on them exactly "
                        "(default output: t = 0 and --n-times log-spaced times from t-max·1e-4 to t-max)")
    g.add_argument("--n-times", type=int, default=200,
                   help="number of log-spaced output times; 0 for none besides t = 0, t-max and --times "
                        "(default: 200)")


def _sampler_option(p, default):
    p.add_argument("--sampler", choices=("full", "reduced"), default=default,
                   help="full: N-dimensional weights and inputs; reduced: the same SGD chain with the weights "
                        "written in their own span, exact in law, cost independent of N, needs N > K+M "
                        f"(default: {default})")


INIT_HELP_ODE = ("start from the order parameters in FILE.npz (keys Q, R, T, A, v, optional F) instead of "
                 "drawing them; K, M, N, seed, sigma0 are then ignored")
INIT_HELP_SIM = ("start from the order parameters in FILE.npz (keys Q, R, T, A, v, optional F): weights at --N "
                 "whose overlaps are exactly Q, R, T (a random orthonormal frame of R^N from --seed); K, M, sigma0 "
                 "are then ignored")


def _init_options(p, with_init_file, several_N=False, n_flag="--N", init_help=INIT_HELP_ODE):
    g = p.add_argument_group("initial condition (drawn as weights at finite N)")
    g.add_argument("--K", type=int, default=2, help="student hidden units K >= 1 (default: 2)")
    g.add_argument("--M", type=int, default=2, help="teacher hidden units M >= 1 (default: 2)")
    if n_flag != "--N":
        g.add_argument(n_flag, type=int, default=500, dest="N",
                       help="input dimension N >= 1 of the drawn initial weights (default: 500)")
    elif several_N:
        g.add_argument("--N", type=_int_list, default=[500],
                       help="input dimension(s) N >= 1, comma-separated, e.g. 250,500,1000,2000 to see the gap "
                            "shrink with N (default: 500)")
    else:
        g.add_argument("--N", type=int, default=500, help="input dimension N >= 1 of the drawn weights (default: 500)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed, split into independent teacher/student/feedback/data streams (default: 0)")
    g.add_argument("--sigma0", type=float, default=1e-2,
                   help="standard deviation of the student's initial weights w and v (default: 0.01)")
    g.add_argument("--teacher-second-layer", choices=("ones", "gaussian"), default="ones",
                   help="teacher second layer A: all ones or N(0,1) (default: ones)")
    g.add_argument("--feedback", choices=("gaussian", "matched", "positive"), default="gaussian",
                   help="DFA feedback F: N(0,1), matched = v(0), positive = |N(0,1)| (default: gaussian)")
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


def _solver_options(p):
    g = p.add_argument_group("integrator")
    g.add_argument("--method", choices=("dop853", "lsoda", "rk4", "euler"), default="dop853",
                   help="dop853: adaptive 8th-order Runge-Kutta with error control; lsoda: adaptive, switches "
                        "to BDF near fixed points (fewer evaluations on long runs that settle); rk4, euler: "
                        "fixed step --dt (default: dop853)")
    g.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of dop853/lsoda (default: 1e-8)")
    g.add_argument("--atol", type=float, default=1e-10, help="absolute tolerance of dop853/lsoda (default: 1e-10)")
    g.add_argument("--dt", type=float, default=None, help="time step in units of α for euler and rk4")
    g.add_argument("--drop-eta2-terms", action="store_true",
                   help="drop the η² (SGD noise) and σ² terms; only for checking conservation laws")


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


def _check_outputs(args):
    from .io import check_writable
    for path in (args.out, args.npz, args.save_init):
        check_writable(path, args.force)


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
    lines.append(f"  run time {traj.wall_time:.3g} s{evals}")
    return "\n".join(lines)


def _write(traj, args):
    traj.to_csv(args.out, args.force)
    written = [args.out]
    if args.npz:
        traj.to_npz(args.npz, args.force)
        written.append(args.npz)
    return written


def cmd_integrate(args):
    from .ode.integrate import integrate
    _check_outputs(args)
    state = _initial_state(args)
    if args.save_init:
        _save_init(state, args.save_init, args.force)
    traj = integrate(state, activation=args.activation, rule=args.rule, eta=args.eta, eta_v=args.eta_v,
                     sigma=args.sigma, t_max=args.t_max, times=args.times,
                     n_times=args.n_times, method=args.method,
                     rtol=args.rtol, atol=args.atol, dt=args.dt, train_second_layer=not args.fix_second_layer,
                     eta2_terms=not args.drop_eta2_terms, progress=not args.no_progress)
    label = (f"ODE {args.activation} {args.rule.upper()}  K={state.K} M={state.M}  eta={args.eta:g}  "
             f"t_max={args.t_max:g}  ({args.method})")
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
                t_max=args.t_max, times=args.times, train_second_layer=not args.fix_second_layer)


def cmd_simulate(args):
    from simulate import simulate
    _check_outputs(args)
    net = _initial_network(args)
    if args.save_init:
        _save_init(net.state(), args.save_init, args.force)
    traj = simulate(net, seed=args.seed, mc_test=args.mc_test, sampler=args.sampler, progress=not args.no_progress,
                    **_run_options(args))
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
    from .io import check_writable
    from .plotting import save_figure
    for path in (args.out, args.png):
        check_writable(path, args.force)
    opts = _run_options(args)
    if opts["times"] is not None:
        raise InputError("compare uses the default output times; --times is not supported here")
    del opts["times"]
    init = _load_init(args.init) if args.init else None
    result = compare(K=args.K, M=args.M, Ns=args.N, seeds=args.seeds, sigma0=args.sigma0, init=init,
                     teacher_second_layer=args.teacher_second_layer, feedback=args.feedback,
                     rtol=args.rtol, atol=args.atol, gap_until=args.gap_until, workers=args.workers,
                     sampler=args.sampler, **opts)
    print(result.summary())
    result.to_csv(args.out, args.force)
    save_figure(result.plot(), args.png, args.force)
    print(f"  wrote {args.out}, {args.png}")
    failed = [r for r in result.runs if not (r.sim.success and r.ode.success)]
    return EXIT_DIVERGED if failed else 0


def cmd_plearn(args):
    from .experiments.plearn import plearn
    from .io import check_writable
    from .plotting import save_figure
    for path in (args.out, args.png):
        check_writable(path, args.force)
    result = plearn(Ks=args.K, M=args.M, trials=args.trials, method=args.method, N=args.N, eta=args.eta,
                    sigma0=args.sigma0, t_max=args.t_max, threshold=args.threshold, results_path=args.trials_file,
                    scheduler=args.scheduler, workers=args.workers, sampler=args.sampler)
    print(result.summary())
    result.to_csv(args.out, args.force)
    save_figure(result.plot(), args.png, args.force)
    print(f"  wrote {args.out}, {args.png}; finished trials are kept in {args.trials_file}")
    return 0


def cmd_degeneracy(args):
    from .experiments.degeneracy import degeneracy, report
    result = degeneracy(K=args.K, seeds=range(args.seeds), N=args.N, eta=args.eta, t_max=args.t_max,
                        converged=args.converged, workers=args.workers)
    print(report(result))
    return 0


def cmd_figures(args):
    from .experiments.figures import make_figures
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
    from .io import check_writable
    from .plotting import new_figure, save_figure
    for path in (args.out, args.png):
        check_writable(path, args.force)
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
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster, one thread each (default: number of cores)")
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
    _model_options(p, eta=0.1, t_max=3000.0)
    _init_options(p, with_init_file=True, n_flag="--N-init")
    _solver_options(p)
    g = p.add_argument_group("what to analyse")
    g.add_argument("--trajectory", metavar="FILE", default=None,
                   help="analyse this run instead of integrating: the .npz of integrate --npz, or its CSV together "
                        "with the run's --init FILE.npz (model options must be those of the run)")
    g.add_argument("--end-state", action="store_true",
                   help="accept a run without a plateau and refine its end state only (default: such a run is an "
                        "error)")
    g = p.add_argument_group("plateau length against N (finite-N simulations started at a saddle)")
    g.add_argument("--N", type=_int_list, default=None, dest="N_list",
                   help="input dimensions, comma-separated, e.g. 250,500,1000,2000,4000,8000 (default: no study)")
    g.add_argument("--seeds", type=_int_list, default=list(range(8)),
                   help="comma-separated seeds, one simulation per N and seed (default: 0..7)")
    _sampler_option(g, "reduced")
    g.add_argument("--fixed-point", type=int, default=None,
                   help="number (1, 2, ... as printed) of the saddle to start from (default: the first saddle)")
    g.add_argument("--sim-t-max", type=float, default=None,
                   help="length of each simulation in alpha (default: (ln N_max / 2 + 8) / lambda+)")
    g.add_argument("--workers", type=int, default=None, help="parallel simulations (default: number of cores)")
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
    p.add_argument("--mc-test", type=int, default=0, metavar="N_TEST",
                   help="also report a Monte-Carlo test error on N_TEST fixed test inputs (default: 0, off; "
                        "needs --sampler full)")
    _sampler_option(p, "full")
    _output_options(p, "simulate.csv")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("compare", help="simulation against the ODE from the same initial condition (main job)",
                       description="Draw an initial condition per seed (and N), run the finite-N simulation and "
                                   "the ODE from the simulation's own initial order parameters, print the largest "
                                   "gaps, and write both trajectories (CSV) and a plot (PNG). Defaults: erf DFA, "
                                   "N=500, K=M=2, eta=0.5, t-max=300, seeds 0,1,2.")
    _model_options(p, eta=0.5, t_max=300.0)
    _init_options(p, with_init_file=True, several_N=True,
                  init_help=INIT_HELP_SIM.replace("--N", "each --N").replace("--seed", "each seed"))
    p.add_argument("--seeds", type=_int_list, default=[0, 1, 2],
                   help="comma-separated seeds, one run each (default: 0,1,2)")
    _sampler_option(p, "full")
    p.add_argument("--gap-until", type=float, default=None,
                   help="measure gaps over α <= this time only (default: the whole run)")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of the ODE (default: 1e-8)")
    p.add_argument("--atol", type=float, default=1e-10, help="absolute tolerance of the ODE (default: 1e-10)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (default: number of cores)")
    _csv_and_png(p, "compare", "CSV: N, seed, t, then sim_* and ode_* columns", "plot of ε_g and cos(v,F) against α")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("plearn", help="probability that a ReLU student learns under DFA, against K",
                       description="ReLU teacher (A_m = 1) and student, DFA with F_k ~ N(0,1): many independent "
                                   "trials per K, each classified as learned when its final ε_g is below --threshold. "
                                   "Prints and writes the learned fraction with a 95% Wilson interval next to "
                                   "2^-K Σ_{j=M..K} C(K,j) and the formula as printed in the paper (Σ_{j=0..M}), "
                                   "and a cross-table by the number of positive entries of F. Finished trials are "
                                   "kept in --trials-file and not recomputed when the command runs again.")
    p.add_argument("--K", type=_int_list, default=list(range(2, 9)),
                   help="student sizes, comma-separated, each >= M (default: 2,3,4,5,6,7,8)")
    p.add_argument("--M", type=int, default=2, help="teacher hidden units (default: 2)")
    p.add_argument("--trials", type=int, default=50, help="trials per K and method (default: 50, as in the paper)")
    p.add_argument("--method", choices=("sim", "ode", "both"), default="sim",
                   help="sim: finite-N simulation; ode: the ODE from finite-N initial conditions (default: sim)")
    p.add_argument("--N", type=int, default=500, help="input dimension (default: 500)")
    _sampler_option(p, "reduced")
    p.add_argument("--eta", type=float, default=0.1, help="learning rate η = η_v (default: 0.1)")
    p.add_argument("--sigma0", type=float, default=1e-2, help="std of the student's initial weights (default: 0.01)")
    p.add_argument("--t-max", type=float, default=3000.0, help="length of each trial in α = steps/N (default: 3000)")
    p.add_argument("--threshold", type=float, default=1e-3,
                   help="a trial is learned when its final ε_g is below this (default: 1e-3)")
    p.add_argument("--trials-file", default="plearn-trials.csv",
                   help="CSV of finished trials, appended to and reused on re-runs (default: plearn-trials.csv)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (default: local cluster)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: number of cores)")
    _csv_and_png(p, "plearn", "summary CSV per method and K", "plot of P(learn) and of the final ε_g")
    p.set_defaults(func=cmd_plearn)

    p = sub.add_parser("degeneracy", help="which sign-flip global minimum DFA and BP end in (erf, K = M)",
                       description="erf, K = M, ODE from finite-N initial conditions: for each seed, the final "
                                   "v·F of the learned solution against all its sign-flip images "
                                   "(w_k, v_k) -> (-w_k, -v_k), for DFA and BP; prints the fraction of runs that "
                                   "ended in the image with the largest v·F.")
    p.add_argument("--K", type=int, default=2, help="K = M hidden units (default: 2)")
    p.add_argument("--seeds", type=int, default=20, help="number of seeds, 0..n-1 (default: 20)")
    p.add_argument("--N", type=int, default=500, help="N of the drawn initial conditions (default: 500)")
    p.add_argument("--eta", type=float, default=0.5, help="learning rate (default: 0.5)")
    p.add_argument("--t-max", type=float, default=3000.0, help="length of each run in α (default: 3000)")
    p.add_argument("--converged", type=float, default=1e-4,
                   help="runs with final ε_g below this count as converged (default: 1e-4)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (default: number of cores)")
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
    p.add_argument("--out-dir", default="figures", help="folder for the PNG files (default: figures)")
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


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops a run like Ctrl-C: rows so far are written


def main(argv=None):
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
        print(f"odetheory: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:  # outside a run that keeps its rows (start-up, writing)
        print("odetheory: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
