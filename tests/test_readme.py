"""The README's worked examples, run and compared with the outputs it prints.

An example is checked when the line before its indented code block is the comment
``<!-- checked example -->`` (or ``<!-- checked example: slow -->`` for an expensive one,
run with ``pytest -m slow``). In the block, a line starting with ``$ `` is a command (a
trailing backslash continues it on the next line), the lines after it are its output.
Commands run in a fresh folder: ``odetheory ...`` in this process, anything else
(``head``, ``cut``) in the shell. Each printed line must match the README's line with the
same text around the numbers and the same numbers (integers exactly, others within one unit of the last printed digit); wall times
(a number followed by s, ms or µs) are not compared; ``...`` alone on a line stands for
any number of lines; a line ending in ``...`` only needs to start like the README's.
"""
import os
import re
import shlex
import subprocess

import pytest

from odetheory.cli import main

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
MARK = re.compile(r"<!--\s*checked example(?::\s*(slow))?\s*-->")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
WALL_TIME = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*(?:s|ms|µs)\b")


def examples(path=README):
    """[(line number, slow?, [(command, [expected output lines])])] for each checked block."""
    lines = open(path, encoding="utf-8").read().splitlines()
    found = []
    for i, line in enumerate(lines):
        m = MARK.fullmatch(line.strip())  # alone on its line (the README also names it in prose)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        block = []
        while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
            block.append(lines[j][4:])
            j += 1
        while block and not block[-1].strip():
            block.pop()
        steps = []
        k = 0
        while k < len(block):
            if block[k].startswith("$ "):
                cmd = block[k][2:]
                while cmd.endswith("\\"):
                    k += 1
                    cmd = cmd[:-1] + " " + block[k].strip()
                steps.append((cmd, []))
            elif steps:
                steps[-1][1].append(block[k])
            k += 1
        assert steps, f"README line {i + 1}: a checked example without a $ command"
        found.append((i + 1, m.group(1) == "slow", steps))
    return found


# the compile-time clause is printed only when the process compiled or loaded kernels
# first, which depends on what ran before in the same process
COMPILING = re.compile(r";\s*compiling.*$")


def _template(line):
    """(text with <t> for wall times and <n> for numbers, the numbers as strings)."""
    line = WALL_TIME.sub("<t>", COMPILING.sub("", line))
    return " ".join(NUMBER.sub("<n>", line).split()), NUMBER.findall(line)


def _same_number(expected, actual):
    if expected == actual:
        return True
    if not re.search("[.eE]", expected):
        return False  # integers (counts, sizes, seeds) exactly
    try:
        e, a = float(expected), float(actual)
    except ValueError:
        return False
    mantissa = re.split("[eE]", expected)[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split("[eE]", expected)[1]) if re.search("[eE]", expected) else 0
    return abs(e - a) <= 1.000001 * 10.0 ** (exponent - decimals)  # one unit in the last printed digit


def line_matches(expected, actual):
    if expected.rstrip().endswith("...") and expected.strip() != "...":
        return actual.strip().startswith(expected.strip()[:-3])
    (te, ne), (ta, na) = _template(expected), _template(actual)
    return te == ta and len(ne) == len(na) and all(_same_number(e, a) for e, a in zip(ne, na))


def output_matches(expected, actual):
    """Whether the actual lines match the expected ones in order, ``...`` lines skipping any."""
    def match(i, j):
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_matches(expected[i], actual[j]) and match(i + 1, j + 1)
    return match(0, 0)


def run(cmd, capsys):
    """Printed lines of one command (in the current folder)."""
    words = shlex.split(cmd)
    if words[0] == "odetheory":
        capsys.readouterr()
        code = main(words[1:])  # progress bars: off, stderr is not a terminal
        out = capsys.readouterr().out
        assert code == 0, f"{cmd}: exit code {code}"
        return out.splitlines()
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, check=True).stdout.splitlines()


EXAMPLES = examples()


def test_the_readme_has_checked_examples():
    assert len(EXAMPLES) >= 4
    assert any(not slow for _, slow, _ in EXAMPLES) and any(slow for _, slow, _ in EXAMPLES)


def test_the_matcher():
    assert line_matches("  plateau: eg ≈ 0.01317 from t = 14.98, left at t = 120.2",
                        "  plateau: eg ≈ 0.01317 from t = 14.98, left at t = 120.2")
    assert not line_matches("  plateau: eg ≈ 0.01319 from t = 18.02, left at t = 120.2",
                            "  plateau: eg ≈ 0.01317 from t = 14.98, left at t = 120.2")
    assert line_matches("x = 0.01317", "x = 0.01318") and not line_matches("x = 0.01317", "x = 0.01319")
    assert line_matches("  run time 0.504 s (1076 right-hand-side evaluations)",
                        "  run time 51.2 s (1076 right-hand-side evaluations)")
    assert not line_matches("  run time 0.504 s (1076 evaluations)", "  run time 0.504 s (1077 evaluations)")
    assert line_matches("     500  3.57e-01±1e-01", "     500  3.57e-01±1e-01")
    assert not line_matches("     500  3.57e-01±1e-01", "     500  3.59e-01±1e-01")
    assert line_matches("0,0.3063,-9.75e-06,...", "0,0.3063,-9.75e-06,8.3")
    assert output_matches(["a 1", "...", "d 4"], ["a 1", "b 2", "c 3", "d 4"])
    assert not output_matches(["a 1", "d 4"], ["a 1", "b 2", "d 4"])
    assert output_matches(["...", "c 3"], ["a 1", "b 2", "c 3"])


@pytest.mark.parametrize("line,slow,steps", [
    pytest.param(line, slow, steps, id=f"README-line-{line}", marks=[pytest.mark.slow] if slow else [])
    for line, slow, steps in EXAMPLES])
def test_readme_example(line, slow, steps, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for cmd, expected in steps:
        actual = run(cmd, capsys)
        assert output_matches(expected, actual), (
            f"README line {line}: `{cmd}` printed\n" + "\n".join(actual) + "\n\nthe README shows\n" + "\n".join(expected))
