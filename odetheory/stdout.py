"""Standard output that survives its reader going away (`odetheory ... | head`).

``reader_may_leave()`` replaces sys.stdout for the duration of a command line by a stream
that passes everything through until a write or flush fails with a broken pipe; from then
on it discards what is printed (and points the file descriptor at the null device, so that
the interpreter's last flush does not fail either). The command goes on: its output files
are written and its exit code is its own.
"""
import contextlib
import io
import os
import sys


class _ReaderMayLeave(io.TextIOBase):
    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False

    def write(self, text):
        if not self.reader_gone:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self):
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def isatty(self):
        return not self.reader_gone and self._stream.isatty()

    def _leave(self):
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError):  # a stream without a descriptor (captured)
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())


@contextlib.contextmanager
def reader_may_leave():
    """sys.stdout that stops printing, without an error, once its reader has gone."""
    previous = sys.stdout
    sys.stdout = _ReaderMayLeave(previous)
    try:
        yield sys.stdout
    finally:
        sys.stdout.flush()
        sys.stdout = previous
