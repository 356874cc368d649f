"""The options schema: the API's defaults, the command line's and the sweeps' agree with it."""
import argparse
import inspect

import pytest

import simulate
from odetheory import options
from odetheory.cli import build_parser
from odetheory.experiments import compare, degeneracy, deep_options, fixedpoints, plearn
from odetheory.initial import draw_network
from odetheory.ode import integrate
from odetheory.sweep import measure

# API function, the context of its defaults
API = [
    (integrate.integrate, None),
    (simulate.simulate, None),
    (draw_network, None),
    (compare.compare, "compare"),
    (compare.simulate_and_integrate, "compare"),
    (plearn.plearn, "plearn"),
    (degeneracy.degeneracy, "degeneracy"),
    (fixedpoints.fixed_points, "fixed_points"),
]
# subcommand: the context of its flags' defaults
# deprecated keywords kept for old code: integrate(method=...) is integrate(integrator=...)
DEPRECATED = {("integrate", "method"), ("fixed_points", "method")}
COMMANDS = {"integrate": None, "simulate": None, "compare": "compare", "plearn": "plearn",
            "degeneracy": "degeneracy", "fixedpoints": "fixedpoints", "sweep": "sweep"}


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("fn,context", API, ids=[f.__qualname__ for f, _ in API])
def test_api_defaults_come_from_the_schema(fn, context):
    expected = options.defaults(context)
    checked = 0
    for name, par in inspect.signature(fn).parameters.items():
        if (fn.__name__, name) in DEPRECATED:
            assert par.default is None
        elif name in options.OPTIONS and par.default is not inspect.Parameter.empty:
            assert par.default == expected[name], f"{fn.__qualname__}({name}=...)"
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_defaults_come_from_the_schema(command):
    expected = options.defaults(COMMANDS[command])
    p = _subparsers()[command]
    checked = 0
    for action in p._actions:
        if action.dest in options.OPTIONS and action.default is not argparse.SUPPRESS:
            default = action.default
            if isinstance(default, list):
                default = tuple(default)
                if options.OPTIONS[action.dest].base not in ("ints", "floats"):  # a list of N: each one
                    assert len(default) == 1
                    default = default[0]
            assert default == expected[action.dest], f"{command} {action.option_strings}"
            opt = options.OPTIONS[action.dest]
            if opt.base == "choice" and action.choices is not None and action.dest != "method":
                assert tuple(action.choices) == opt.bound
            checked += 1
    assert checked >= 1


def test_deep_command_defaults_are_its_schema():
    p = _subparsers()["deep"]
    for action in p._actions:
        if action.dest in deep_options.OPTIONS:
            opt = deep_options.OPTIONS[action.dest]
            assert action.default == (None if opt.optional else opt.default)
            assert isinstance(opt, options.Option)


def test_sweep_defaults_and_checks_are_the_schema():
    point = measure.normalise({"method": "ode"})
    for name, value in point.items():
        opt = options.OPTIONS[name]
        assert measure.OPTIONS[name] is opt
        if name not in ("eta_v", "sampler"):  # eta_v: = eta; sampler: None for ode points
            assert value == options.DEFAULTS[name], name
    assert point["eta_v"] == options.DEFAULTS["eta"]
    assert measure.normalise({"method": "sim"})["sampler"] == options.DEFAULTS["sampler"]


def test_method_has_one_meaning():
    """--method (and method=) is what a run computes; the integrator is --integrator everywhere
    (the old --method of integrate/fixedpoints is a hidden alias)."""
    integrators = set(options.OPTIONS["integrator"].bound)
    for command, p in _subparsers().items():
        for action in p._actions:
            if action.dest == "method":
                assert not integrators & set(action.choices or ()), command
                assert action.help != argparse.SUPPRESS
            if action.dest == "integrator" and "--method" in action.option_strings:
                assert action.help == argparse.SUPPRESS, command
    args = build_parser().parse_args(["integrate", "--method", "lsoda"])
    assert args.integrator == "lsoda"
    assert "integrator" in inspect.signature(integrate.integrate).parameters
    assert "integrator" in inspect.signature(fixedpoints.fixed_points).parameters
    assert options.OPTIONS["method"].bound[:2] == ("ode", "sim")


def test_one_entry_adds_an_option(monkeypatch):
    """A new schema entry becomes a flag with its default and checks (what later options need)."""
    monkeypatch.setitem(options.OPTIONS, "weight_decay",
                        options.Option("float", 0.0, 0.0, False, "first-layer weight decay λ, >= 0"))
    from odetheory import cli
    p = argparse.ArgumentParser()
    cli._add(p, "weight_decay")
    assert p.parse_args([]).weight_decay == 0.0
    assert p.parse_args(["--weight-decay", "0.5"]).weight_decay == 0.5
    with pytest.raises(SystemExit):
        p.parse_args(["--weight-decay", "-1"])
    assert options.check("weight_decay", 0.25) == 0.25


def test_seed_lists():
    assert options.parse_list("0..3,7") == [0, 1, 2, 3, 7]
    assert options.parse_list("0.5,1", "float") == [0.5, 1.0]
