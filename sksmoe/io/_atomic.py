"""Write files and folders atomically, refusing to overwrite by default."""

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

#: Temporary folders are named ``.<name>.sksmoe-tmp-<pid>-<random>`` beside the target.
_TMP = ".sksmoe-tmp-"


@contextmanager
def atomic_path(path, overwrite=False, *, directory=False):
    """Yield a temporary path that replaces ``path`` on success.

    The temporary path has ``path``'s name, so that libraries choosing the encoding from
    the suffix behave as for ``path``, inside a hidden sibling folder
    ``.<name>.sksmoe-tmp-<pid>-<random>``: a file killed half-written is never matched by
    a glob for the output's suffix. Such folders left by killed processes are removed by
    the next write of the same ``path``. If the block raises, the temporary path is
    removed and ``path`` is left untouched. An existing folder is removed only after the
    new one has been moved into place.

    Parameters
    ----------
    path : Path
        Final destination.
    overwrite : bool, default=False
        Whether an existing ``path`` may be replaced.
    directory : bool, default=False
        Create the temporary path as an empty folder before yielding it.

    Yields
    ------
    Path
        The temporary path to write to.
    """
    path = Path(path)
    check_target(path, overwrite)
    _remove_stale(path)
    folder = path.with_name(f".{path.name}{_TMP}{os.getpid()}-{secrets.token_hex(4)}")
    folder.mkdir()
    tmp = folder / path.name
    try:
        if directory:
            tmp.mkdir()
        yield tmp
        check_target(path, overwrite)
        _replace(tmp, path)
    finally:
        _remove(folder)


def check_target(path, overwrite=False):
    """Raise if ``path`` cannot be written: its folder is missing or not writable, or it
    exists and ``overwrite`` is False (checked before any long work, and again at the end)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder does not exist: '{path.parent}'.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"Output folder is not writable: '{path.parent}'.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it.")


def _remove_stale(path):
    """Remove temporary folders of ``path`` whose writing process is gone."""
    for folder in path.parent.glob(f".{path.name}{_TMP}*"):
        pid = folder.name[len(f".{path.name}{_TMP}"):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(folder)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _replace(tmp, path):
    if path.exists() and (path.is_dir() or tmp.is_dir()):
        old = path.with_name(f".{path.name}.old-{secrets.token_hex(4)}")
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        _remove(old)
    else:
        os.replace(tmp, path)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
