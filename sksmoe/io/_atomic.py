"""Write files and folders atomically, refusing to overwrite by default."""

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path, overwrite=False, *, directory=False):
    """Yield a temporary sibling of ``path`` that replaces ``path`` on success.

    The temporary name is ``.<name>.tmp-<random><suffix>``, where ``<suffix>`` is the
    final suffix of ``path`` (``.nii.gz`` counts as one), so that libraries choosing
    the encoding from the suffix behave as for ``path``. If the block raises, the
    temporary file or folder is removed and ``path`` is left untouched. An existing
    folder is removed only after the new one has been moved into place.

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
    _check_target(path, overwrite)
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}{suffix}")
    try:
        if directory:
            tmp.mkdir()
        yield tmp
        _check_target(path, overwrite)
        _replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _check_target(path, overwrite):
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder does not exist: '{path.parent}'.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it.")


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
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
