"""Safe output: never overwrite without being asked, write atomically, honour the umask."""
import os
import tempfile
from contextlib import contextmanager

from .errors import InputError


def check_output(path, overwrite=False, label=None):
    """InputError (naming `label`, e.g. a CLI flag, when given) if path is a directory, its
    folder is missing, or it exists and overwrite is False."""
    if path is None:
        return
    where = f"{label} {path}" if label else str(path)
    if os.path.isdir(path):
        raise InputError(f"{where}: is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{where}: folder {folder} does not exist")
    if os.path.exists(path) and not overwrite:
        force = "pass --force to replace it" if label else "pass overwrite=True to replace it"
        raise InputError(f"{where}: exists; {force}", option="overwrite")


def check_writable(path, overwrite=False):
    """InputError if path is a directory, exists and overwrite is False, or its folder is missing."""
    check_output(path, overwrite)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path, overwrite=False, mode="w"):
    """Open a temporary file beside path; on success rename it onto path, with the
    permissions of a newly created file (0666 less the umask; the temporary file's own
    mode is 0600)."""
    check_writable(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
