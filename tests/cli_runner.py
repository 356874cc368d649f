"""Run the command line in-process and capture its exit code and output."""
from odetheory.cli import main


def run_cli(argv, capsys):
    """(exit code, stdout, stderr) of `odetheory argv...`."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
