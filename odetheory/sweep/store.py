"""The results file of a sweep: one CSV row per point, appended as points finish, read to resume.

Rows hold the point's key, its options, the measurements, run_time (s), status and error
(see ``engine``). ``ResultsFile`` creates or checks the header, cuts off a partial last
line left by a killed writer, locks the file while a sweep appends to it, and returns
the rows already there; ``read_results`` reads a finished file.
"""
import csv
import io
import os

from ..errors import InputError
from .measure import ALL_MEASUREMENT_INFO, ALL_OPTIONS, schema

ROW_TAIL = ("run_time", "status", "error")


def columns(measure=None, method=None):
    """Column names of a results file of points of `method` ("deep" or None): key, every
    option, the measurements (default: all), run_time, status, error."""
    options, measurements, _ = schema(method)
    measure = measurements if measure is None else measure
    for name in measure:
        if name not in measurements:
            raise InputError(f"unknown measurement {name!r}; known: {', '.join(measurements)}")
    return ["key", *options, *measure, *ROW_TAIL]


def _format(x):
    if x is None:
        return ""
    if isinstance(x, float):
        return repr(x)
    return str(x).replace("\r", " ").replace("\n", " ")


def _parser(name):
    if name in ALL_OPTIONS:
        kind = ALL_OPTIONS[name][0]
        base = {"int": int, "int?": int, "bool": lambda s: s == "True", "choice": str, "str": str}.get(kind, float)
    elif name in ALL_MEASUREMENT_INFO:
        typ = ALL_MEASUREMENT_INFO[name][0]
        base = (lambda s: s == "True") if typ is bool else typ
    elif name == "run_time":
        base = float
    else:
        return str
    return lambda s: None if s == "" else base(s)


class ResultsFile:
    """A CSV results file opened for resuming: rows already there, append, lock.

    ``with ResultsFile(path, cols) as store``: creates the file with a header row, or
    checks the header of an existing one (InputError if it differs), cuts off a partial
    last line, and locks it (InputError if another sweep holds the lock)."""

    def __init__(self, path, cols):
        self.path, self.columns = os.fspath(path), list(cols)
        self.fh = None

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise InputError(f"folder {folder} does not exist")
        self.created = not os.path.exists(self.path)
        self.appended = False
        self.fh = open(self.path, "a+b")
        try:
            self._lock()
            self.fh.seek(0)
            data = self.fh.read()
            if data and not data.endswith(b"\n"):  # a writer died in the middle of a line
                data = data[:data.rfind(b"\n") + 1]
                self.fh.truncate(len(data))
            if not data:
                self._write([self.columns])
            else:
                header = next(csv.reader(io.StringIO(data[:data.find(b"\n") + 1].decode())), [])
                if header != self.columns:
                    raise InputError(f"{self.path} is not a results file of this sweep (its columns differ: "
                                     f"other measurements?); choose another results file")
            self._data = data
        except BaseException:
            self.fh.close()
            raise
        return self

    def _lock(self):
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"{self.path} is being written by another sweep") from None

    def rows(self, wanted=None):
        """{key: row} of the rows in the file (only keys in `wanted` when given); also the set of all keys."""
        parsers = [_parser(c) for c in self.columns]
        reader = csv.reader(io.StringIO(self._data.decode()))
        next(reader, None)
        found, keys = {}, set()
        for line, fields in enumerate(reader, start=2):
            if len(fields) != len(self.columns):
                raise InputError(f"{self.path}: line {line} has {len(fields)} fields, expected {len(self.columns)}")
            key = fields[0]
            keys.add(key)
            if (wanted is None or key in wanted) and key not in found:
                found[key] = {c: f(x) for c, f, x in zip(self.columns, parsers, fields)}
        self._data = b""
        return found, keys

    def _write(self, records):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(records)
        self.fh.write(buf.getvalue().encode())  # one write per chunk, then flush
        self.fh.flush()

    def append(self, rows):
        self._write([[_format(row.get(c)) for c in self.columns] for row in rows])
        self.appended = True

    def __exit__(self, *exc):
        self.fh.close()
        if self.created and not self.appended:  # nothing ran: leave no header-only file behind
            os.unlink(self.path)


class NoFile:
    """Stand-in for ResultsFile when no results file is wanted."""

    def __enter__(self):
        return self

    def rows(self, wanted=None):
        return {}, set()

    def append(self, rows):
        pass

    def __exit__(self, *exc):
        pass


def read_results(path):
    """All rows of a results file as a list of dicts (typed), in file order."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        cols = next(reader)
        parsers = [_parser(c) for c in cols]
        return [{c: f(x) for c, f, x in zip(cols, parsers, fields)} for fields in reader if len(fields) == len(cols)]
