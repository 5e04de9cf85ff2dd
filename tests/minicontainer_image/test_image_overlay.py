"""Layers on a real overlayfs: whiteouts, opaque directories, diffs, unsafe tars."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from minicontainer.image.archive import ArchiveError, apply_layer, write_diff
from minicontainer.image.snapshotter import SnapshotError, Snapshotter, mount_all, unmount

pytestmark = [pytest.mark.root, pytest.mark.kernel("overlay")]


def make_tar(path: Path, entries: list[tuple[str, bytes | None]]) -> Path:
    """entries: (name, bytes) for files, (name, None) for directories."""
    with tarfile.open(path, "w") as tf:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
    return path


def layer_names(buf: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(buf)) as tf:
        return tf.getnames()


@pytest.fixture
def snap(tmp_path):
    s = Snapshotter(tmp_path / "snapshots")
    yield s


@pytest.fixture
def mnt(tmp_path):
    target = tmp_path / "mnt"
    target.mkdir()
    yield target
    unmount(target)


def commit_layer(snap: Snapshotter, name: str, parent, tar: Path) -> None:
    snap.prepare("x-" + name, parent)
    apply_layer(tar, snap.fs_dir("x-" + name))
    snap.commit(name, "x-" + name)


def test_whiteouts_and_opaque_dirs_hide_lower_content(snap, mnt, tmp_path):
    l1 = make_tar(
        tmp_path / "l1.tar",
        [("etc", None), ("etc/keep", b"k"), ("etc/gone", b"g"), ("data", None), ("data/old", b"o")],
    )
    l2 = make_tar(
        tmp_path / "l2.tar",
        [("etc/.wh.gone", b""), ("data", None), ("data/.wh..wh..opq", b""), ("data/new", b"n")],
    )
    commit_layer(snap, "c1", None, l1)
    commit_layer(snap, "c2", "c1", l2)
    gone = snap.fs_dir("c2") / "etc" / "gone"
    assert stat.S_ISCHR(os.lstat(gone).st_mode) and os.lstat(gone).st_rdev == 0
    snap.prepare("ctr", "c2")
    mount_all(snap.mounts("ctr"), mnt)
    assert sorted(os.listdir(mnt / "etc")) == ["keep"]
    assert sorted(os.listdir(mnt / "data")) == ["new"]
    # change the container, then diff its upper directory back into a layer
    (mnt / "etc" / "keep").unlink()
    (mnt / "etc" / "added").write_text("a")
    unmount(mnt)
    buf = io.BytesIO()
    write_diff(snap.fs_dir("ctr"), buf)
    names = layer_names(buf.getvalue())
    assert "etc/.wh.keep" in names and "etc/added" in names
    with pytest.raises(SnapshotError):
        snap.remove("c2")  # it still has a child


def test_rmdir_and_recreate_gives_an_opaque_whiteout(snap, mnt, tmp_path):
    commit_layer(snap, "c1", None, make_tar(tmp_path / "l.tar", [("d", None), ("d/a", b"a")]))
    snap.prepare("ctr", "c1")
    mount_all(snap.mounts("ctr"), mnt)
    (mnt / "d" / "a").unlink()
    (mnt / "d").rmdir()
    (mnt / "d").mkdir()
    (mnt / "d" / "b").write_text("b")
    unmount(mnt)
    buf = io.BytesIO()
    write_diff(snap.fs_dir("ctr"), buf)
    assert {"d", "d/.wh..wh..opq", "d/b"} <= set(layer_names(buf.getvalue()))


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/../evil"])
def test_unsafe_layer_paths_are_refused(tmp_path, name):
    tar = make_tar(tmp_path / "bad.tar", [(name, b"x")])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError):
        apply_layer(tar, dest)
    assert not (tmp_path / "evil").exists()


def test_symlinked_parent_cannot_escape(tmp_path):
    tar = tmp_path / "sym.tar"
    with tarfile.open(tar, "w") as tf:
        ti = tarfile.TarInfo("link")
        ti.type, ti.linkname = tarfile.SYMTYPE, str(tmp_path)
        tf.addfile(ti)
        ti = tarfile.TarInfo("link/escaped")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError):
        apply_layer(tar, dest)
    assert not (tmp_path / "escaped").exists()


def test_identical_trees_give_identical_digests(tmp_path):
    digests = []
    for i in range(2):
        d = tmp_path / f"tree{i}"
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "f").write_text("same")
        (d / "z").symlink_to("sub/f")
        os.utime(d / "sub" / "f", (1000 + i, 1000 + i))  # mtimes differ, digests must not
        digests.append(write_diff(d, io.BytesIO()))
    assert digests[0] == digests[1]
