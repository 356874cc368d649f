"""Sweeps: spec checks, measurements, the engine on serial / local-cluster / existing-scheduler
paths, resume after a killed worker or command, and the heat map."""
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli_runner import run_cli
from odetheory.sweep.engine import run_points
from odetheory.sweep.store import columns, read_results
from odetheory.errors import InputError
from odetheory.sweep.measure import MEASUREMENTS, measure_point, normalise, point_key
from odetheory.sweep.spec import load_spec, parse_spec

DASK = [sys.executable, "-m", "dask"]  # the `dask` command of this environment
# slow enough to kill part-way (about 0.1-0.3 s per point), small enough for CI
SLOW_GRID = {"method": "sim", "N": 300, "t_max": 100, "eta": [0.2, 0.5, 1.0], "seed": list(range(8))}


def write_spec(folder, grid, name="spec.json", **extra):
    path = Path(folder) / name
    path.write_text(json.dumps({"grid": grid, **extra}))
    return path


def rows_of(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def same(a, b):
    """Rows equal in everything but run time (NaN equal to NaN)."""
    for k in a:
        if k == "run_time":
            continue
        x, y = a[k], b[k]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def small_ode_points():
    return [dict(method="ode", K=2, M=2, eta=eta, seed=seed, t_max=200.0, rule=rule)
            for rule in ("bp", "dfa") for eta in (0.3, 1.0, 3.0) for seed in (0, 1)]


# --------------------------------------------------------------------------- specs

def test_spec_lists_ranges_and_aliases(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('measure = ["eg_final", "learned"]\n[grid]\nrule = ["bp", "dfa"]\n'
                    'eta = {start = 0.1, stop = 10, num = 3, scale = "log"}\n'
                    'seed = {start = 0, stop = 4, num = 5}\neta-v = 0.2\nfix_second_layer = true\nt_max = 50\n')
    spec = load_spec(path)
    assert spec.grid["eta"] == [0.1, 1.0, 10.0] and spec.grid["seed"] == [0, 1, 2, 3, 4]
    assert spec.grid["eta_v"] == [0.2] and spec.grid["train_second_layer"] == [False]
    assert spec.grid["t_max"] == [50.0] and spec.measure == ("eg_final", "learned")
    points = spec.points()
    assert len(points) == spec.size == 30 and spec.varied == ["rule", "eta", "seed"]
    assert points[0] == dict(rule="bp", eta=0.1, seed=0, eta_v=0.2, train_second_layer=False, t_max=50.0)
    assert points[1]["seed"] == 1  # the last option varies fastest
    lin = parse_spec({"grid": {"eta": {"start": 0.1, "stop": 0.3, "num": 3}}})
    assert lin.grid["eta"] == [0.1, 0.2, 0.3]


@pytest.mark.parametrize("text, key", [
    ('[grid]\netta = 0.1', "grid.etta"),
    ('[grid]\neta = []', "grid.eta"),
    ('[grid]\neta = {start = 0.1, stop = 1, num = 0}', "grid.eta"),
    ('[grid]\nK = 2.5', "grid.K"),
    ('[grid]\neta = "fast"', "grid.eta"),
    ('[grid]\nrule = 3', "grid.rule"),
    ('[grid]\nrule = "dfaa"', "grid.rule"),
    ('[grid]\nrule = {start = 0, stop = 1, num = 2}', "grid.rule"),
    ('[grid]\neta = {start = 0.1, stop = 1, num = 3, step = 2}', "grid.eta.step"),
    ('[grid]\nseed = {start = 0, stop = 10, num = 4}', "grid.seed"),
    ('[grid]\neta = -1', "grid.eta"),
    ('[grid]\nmethod = "dop853"', "grid.method"),
    ('[grid]\nintegrator = "rk4"', "dt"),
    ('measure = ["eg"]\n[grid]\neta = 0.1', "measure"),
    ('[grid]\neta = 0.1\n[run]\nx = 1', "run"),
    ('[grid]\neta = [0.1, [0.2]]', "grid.eta"),
    ('[grid]\neta = 0.1 0.2', "invalid TOML"),
])
def test_bad_spec_is_a_one_line_error_before_any_work(tmp_path, capsys, text, key):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    code, out, err = run_cli(["sweep", str(spec), "--no-progress"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and key in err
    assert not (tmp_path / "bad.csv").exists()  # nothing ran, no results file


def test_bad_plot_and_json_spec(tmp_path, capsys):
    spec = write_spec(tmp_path, {"eta": [0.5], "t_max": 10})
    code, _, err = run_cli(["sweep", str(spec), "--plot", "eta", "seed", "loss"], capsys)
    assert code == 2 and "loss" in err and not (tmp_path / "spec.csv").exists()
    code, _, err = run_cli(["sweep", str(spec), "--plot", "etta", "seed", "eg_final"], capsys)
    assert code == 2 and "etta" in err
    bad = tmp_path / "b.json"
    bad.write_text('{"grid": {"eta": [0.1,]}}')
    code, _, err = run_cli(["sweep", str(bad)], capsys)
    assert code == 2 and "invalid JSON" in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- one point

def test_measure_point_uses_the_same_runs_as_the_api():
    from odetheory import draw_network, integrate
    from odetheory.plateaus import plateau
    p = dict(K=3, M=2, eta=0.5, t_max=200.0, seed=3, rule="dfa")
    m = measure_point(p)
    traj = integrate(draw_network(3, 2, 500, 1e-2, 3).state(), eta=0.5, t_max=200.0)
    height, start, escape = plateau(traj.t, traj.eg)
    assert m["status"] == "ok" and m["error"] == ""
    assert m["eg_final"] == traj.eg[-1] and m["cos_final"] == traj.cos_vF[-1]
    assert (m["plateau_height"], m["plateau_start"]) == (height, start)
    assert m["plateau_escape"] == escape or (math.isnan(m["plateau_escape"]) and math.isnan(escape))
    assert m["learned"] == (traj.eg[-1] < 1e-3) and m["n_positive_F"] == int(np.sum(traj.F > 0))
    assert measure_point({**p, "threshold": 1.0})["learned"]
    assert set(MEASUREMENTS) <= set(m) and m["run_time"] > 0


def test_diverged_point_and_normalised_keys():
    m = measure_point(dict(method="sim", activation="linear", eta=20.0, N=50, t_max=10.0))
    assert m["status"] == "diverged" and "stopped at t" in m["error"]
    assert math.isnan(m["eg_final"]) and m["learned"] is False
    # defaults spelled out or left implicit give the same key; eta_v defaults to eta
    assert point_key({"eta": 0.5}) == point_key({"eta": 0.5, "eta_v": 0.5, "method": "ode", "N": 500})
    assert point_key({"eta": 0.5}) != point_key({"eta": 0.5, "seed": 1})
    sim = normalise({"method": "sim", "rtol": 1e-3})
    assert sim["rtol"] is None and sim["sampler"] == "full" and normalise(sim) == sim
    assert normalise({"method": "ode", "sampler": "reduced"})["sampler"] is None
    assert normalise({"method": "ode", "integrator": "lsoda"})["dt"] is None
    with pytest.raises(InputError, match="etta"):
        normalise({"etta": 1})


# --------------------------------------------------------------------------- serial engine

def test_serial_results_file_resume_and_failures(tmp_path, monkeypatch):
    import odetheory.sweep.tasks as engine
    real = engine.measure_point

    def flaky(p):
        if p["eta"] == 3.0 and p["seed"] == 1:
            raise RuntimeError("boom, with a comma\nand a newline")
        return real(p)

    monkeypatch.setattr(engine, "measure_point", flaky)
    points = small_ode_points()
    out = tmp_path / "r.csv"
    first = run_points(points, out, scheduler="serial", progress=False)
    assert [r["key"] for r in first] == [point_key(p) for p in points]
    failed = [r for r in first if r["status"] == "error"]
    assert len(failed) == 2 and "RuntimeError: boom, with a comma and a newline" == failed[0]["error"]
    assert sum(r["status"] == "ok" for r in first) == len(points) - 2
    table = rows_of(out)
    assert list(table[0]) == columns() and len(table) == len(points)

    # kill in the middle of a write: last line cut; and two rows never written
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:-3]) + lines[-3][:25])
    again = run_points(points + points[:2], out, scheduler="serial", progress=False)  # duplicates run once
    assert again.stats.n_skipped == len(points) - 3 and again.stats.n_run == 3
    table = rows_of(out)
    assert len(table) == len(points) and len({r["key"] for r in table}) == len(points)
    assert all(same(a, b) for a, b in zip(first, again))
    by_key = {r["key"]: r for r in read_results(out)}
    assert all(same(r, by_key[r["key"]]) for r in first)  # the CSV round trip is exact

    nothing = run_points(points, out, scheduler="serial", progress=False)
    assert nothing.stats.n_run == 0 and all(same(a, b) for a, b in zip(first, nothing))
    with pytest.raises(InputError, match="columns differ"):
        run_points(points, out, scheduler="serial", progress=False, measure=("eg_final",))
    with pytest.raises(InputError, match="chunk_size"):
        run_points(points, None, scheduler="serial", chunk_size=0)


def test_cli_serial_run_and_heat_map(tmp_path, capsys):
    import matplotlib.image
    spec = write_spec(tmp_path, {"eta": [0.3, 1.0, 3.0], "seed": [0, 1], "t_max": 100}, name="grid.json")
    code, out, _ = run_cli(["sweep", str(spec), "--scheduler", "serial", "--no-progress",
                            "--plot", "eta", "seed", "eg_final"], capsys)
    png = tmp_path / "grid_eg_final_eta_seed.png"
    assert code == 0 and "6 run" in out and png.exists()
    assert matplotlib.image.imread(png).shape[2] in (3, 4)
    assert len(rows_of(tmp_path / "grid.csv")) == 6
    code, _, err = run_cli(["sweep", str(spec), "--scheduler", "serial", "--plot", "eta", "seed", "learned"],
                           capsys)
    assert code == 0
    code, _, err = run_cli(["sweep", str(spec), "--scheduler", "serial", "--plot", "eta", "seed", "eg_final"],
                           capsys)
    assert code == 2 and "--force" in err  # never overwrites the PNG without --force
    code, out, _ = run_cli(["sweep", str(spec), "--scheduler", "serial", "--plot", "eta", "seed", "eg_final",
                            "--force", "--no-progress"], capsys)
    assert code == 0 and "6 already done, 0 run" in out


def test_map_parallel_keeps_order_and_raises():
    from odetheory.experiments.parallel import map_parallel

    def f(x):
        if x == (3, "boom"):
            raise ValueError("boom")
        return x

    items = [(1, 2), [3], {"a": 1}, (print, 1)]
    assert map_parallel(f, items, workers=2) == items
    assert map_parallel(f, items, workers=1) == items and map_parallel(f, []) == []
    with pytest.raises(ValueError, match="boom"):
        map_parallel(f, [(1,), (3, "boom")], workers=2)


# --------------------------------------------------------------------------- Dask

def test_local_cluster_gives_the_serial_numbers():
    points = small_ode_points()
    serial = run_points(points, scheduler="serial", progress=False)
    dist = run_points(points, workers=2, progress=False)
    assert dist.stats.n_run == len(points) and dist.stats.slots == 2
    assert all(same(a, b) for a, b in zip(serial, dist))


def _wait_rows(path, n, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and len(path.read_text().splitlines()) - 1 >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early ({proc.returncode}): {proc.stdout.read()}")
        time.sleep(0.05)
    raise AssertionError("the sweep did not get going")


def _sweep_process(spec, *args):
    return subprocess.Popen([sys.executable, "-m", "odetheory", "sweep", str(spec), "--no-progress", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _check_complete(results, n):
    table = rows_of(results)
    keys = [r["key"] for r in table]
    assert len(keys) == n and len(set(keys)) == n  # none lost, none recorded twice
    assert all(r["status"] == "ok" for r in table)
    return table


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1 (ephemeral ports)."""
    from distributed import Client
    folder = tmp_path_factory.mktemp("dask")
    sched_file = folder / "scheduler.json"
    common = dict(cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs = []
    try:
        procs.append(subprocess.Popen([*DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(sched_file)], **common))
        for i in range(2):
            procs.append(subprocess.Popen([*DASK, "worker", "--scheduler-file", str(sched_file),
                                           "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                                           "--no-dashboard", "--name", f"w{i}", "--death-timeout", "60"],
                                          **common))
        end = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < end:
            time.sleep(0.05)
        client = Client(scheduler_file=str(sched_file), timeout=30)
        client.wait_for_workers(2, timeout=60)
        yield client, sched_file
        client.close()
    finally:
        _stop(procs)


def test_existing_scheduler_runs_the_grid_and_warms_each_worker_once(dask_cluster, tmp_path, capsys):
    client, sched_file = dask_cluster
    points = small_ode_points()
    spec = write_spec(tmp_path, {"rule": ["bp", "dfa"], "eta": [0.3, 1.0, 3.0], "seed": [0, 1],
                                 "K": 2, "M": 2, "t_max": 200})
    code, out, _ = run_cli(["sweep", str(spec), "--scheduler", str(sched_file), "--no-progress"], capsys)
    assert code == 0 and f"{len(points)} run" in out
    serial = {r["key"]: r for r in run_points(points, scheduler="serial", progress=False)}
    got = read_results(tmp_path / "spec.csv")
    assert len(got) == len(points) and all(same(serial[r["key"]], r) for r in got)
    # once per worker process, however many tasks it ran
    assert set(client.run(lambda: __import__("odetheory.sweep.measure").sweep.measure.warm_count()).values()) == {1}
    address = client.scheduler.address
    again = run_points([{**p, "seed": 5} for p in points], scheduler=address, progress=False)
    assert again.stats.n_tasks > 1
    assert set(client.run(lambda: __import__("odetheory.sweep.measure").sweep.measure.warm_count()).values()) == {1}


def test_killed_worker_loses_no_point(dask_cluster, tmp_path):
    client, sched_file = dask_cluster
    spec = write_spec(tmp_path, SLOW_GRID)
    results = tmp_path / "spec.csv"
    proc = _sweep_process(spec, "--scheduler", str(sched_file), "--chunk-size", "2")
    try:
        _wait_rows(results, 2, proc)
        pids = client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)  # a worker dies mid-sweep; its nanny restarts it
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    finally:
        _stop([proc])
    _check_complete(results, 24)
    client.wait_for_workers(2, timeout=60)


def test_killed_command_resumes_without_loss_or_repeat(dask_cluster, tmp_path, capsys):
    client, sched_file = dask_cluster
    spec = write_spec(tmp_path, SLOW_GRID)
    results = tmp_path / "spec.csv"
    proc = _sweep_process(spec, "--scheduler", str(sched_file), "--chunk-size", "1")
    try:
        _wait_rows(results, 3, proc)
        proc.kill()
        proc.wait(10)
    finally:
        _stop([proc])
    kept = rows_of(results)
    with open(results, "a") as fh:  # as if killed in the middle of writing a row
        fh.write(",".join(kept[0].values())[:30])
    code, out, _ = run_cli(["sweep", str(spec), "--scheduler", str(sched_file), "--no-progress"], capsys)
    assert code == 0 and f"{len(kept)} already done, {24 - len(kept)} run" in out
    table = _check_complete(results, 24)
    assert table[:len(kept)] == kept  # the finished rows are untouched


def test_terminated_local_sweep_stops_its_workers_and_resumes(tmp_path):
    import psutil
    spec = write_spec(tmp_path, SLOW_GRID)
    results = tmp_path / "spec.csv"
    proc = _sweep_process(spec, "--workers", "2", "--chunk-size", "1")
    try:
        _wait_rows(results, 3, proc)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "resume" in out
        _, alive = psutil.wait_procs(children, timeout=20)
        assert not alive
    finally:
        _stop([proc])
    kept = len(rows_of(results))
    assert 3 <= kept < 24
    proc = _sweep_process(spec, "--workers", "2")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and f"{kept} already done, {24 - kept} run" in out
    _check_complete(results, 24)
