"""Writes are atomic: a failed or killed write leaves the previous file, and no temporary
file a glob for the output's suffix would find."""

import os

import nibabel as nib
import numpy as np
import pydicom
import pytest

from sksmoe.io import read_image, write_image


def _int_volume(shape=(6, 5, 4)):
    return np.random.default_rng(0).integers(-500, 3000, size=shape).astype(np.int16)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "a.nii.gz"
    write_image(path, np.zeros((3, 3, 3)))
    with pytest.raises(FileExistsError, match="a.nii.gz"):
        write_image(path, np.ones((3, 3, 3)))
    np.testing.assert_array_equal(read_image(path).data, 0)
    write_image(path, np.ones((3, 3, 3)), overwrite=True)
    np.testing.assert_array_equal(read_image(path).data, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["a.nii.gz"]


def test_failed_write_leaves_original_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "a.nii.gz"
    write_image(path, np.zeros((3, 3, 3)))
    original = path.read_bytes()

    def broken_save(img, filename):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(nib, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_image(path, np.ones((3, 3, 3)), overwrite=True)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["a.nii.gz"]


def test_temporary_files_escape_suffix_globs_and_stale_ones_are_removed(tmp_path,
                                                                         monkeypatch):
    import subprocess

    path = tmp_path / "a.nii.gz"
    seen = []

    def save_and_look(img, filename):
        seen.append(sorted(p.name for p in tmp_path.glob("*.nii.gz")))
        nib.Nifti1Image.to_filename(img, filename)

    monkeypatch.setattr(nib, "save", save_and_look)
    write_image(path, np.zeros((3, 3, 3)))
    assert seen == [[]]  # while writing, a *.nii.gz glob finds nothing
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process that no longer exists: its temporaries are stale
    stale = tmp_path / f".a.nii.gz.sksmoe-tmp-{dead.pid}-0000"
    stale.mkdir()
    (stale / "a.nii.gz").write_bytes(b"half a file")
    live = tmp_path / f".a.nii.gz.sksmoe-tmp-{os.getpid()}-0000"  # a write in progress
    live.mkdir()
    write_image(path, np.ones((3, 3, 3)), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "a.nii.gz"]


def test_unwritable_output_folder_is_refused(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(PermissionError, match="not writable"):
            write_image(folder / "a.nii.gz", np.zeros((3, 3, 3)))
    finally:
        folder.chmod(0o755)


def test_failed_series_write_leaves_original_folder(tmp_path, monkeypatch):
    folder = write_image(f"{tmp_path}/series/", _int_volume())
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    calls = []
    save_as = pydicom.Dataset.save_as

    def fail_on_third_slice(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return save_as(self, *args, **kwargs)

    monkeypatch.setattr(pydicom.Dataset, "save_as", fail_on_third_slice)
    with pytest.raises(OSError, match="disk full"):
        write_image(f"{tmp_path}/series/", _int_volume(), overwrite=True)
    assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["series"]


def test_overwrite_series_folder_and_missing_output_folder(tmp_path):
    write_image(f"{tmp_path}/series/", _int_volume())
    data = _int_volume((6, 5, 2))
    write_image(f"{tmp_path}/series/", data, overwrite=True)
    np.testing.assert_array_equal(read_image(tmp_path / "series").data, data)
    assert [p.name for p in tmp_path.iterdir()] == ["series"]
    with pytest.raises(FileNotFoundError, match="missing"):
        write_image(tmp_path / "missing" / "a.nii", data)
