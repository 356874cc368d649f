"""Safe output: never overwrite without being asked, write atomically."""
import os
import tempfile
from contextlib import contextmanager

from .errors import InputError


def check_writable(path, overwrite=False):
    """InputError if path exists and overwrite is False, or its folder is missing."""
    if path is None:
        return
    if os.path.exists(path) and not overwrite:
        raise InputError(f"{path} exists; pass --force (overwrite=True) to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"folder {folder} does not exist")


@contextmanager
def atomic_write(path, overwrite=False, mode="w"):
    """Open a temporary file beside path; on success rename it onto path."""
    check_writable(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
