"""Build log folders stay bounded, oldest first, and a folder a live result reads is never removed."""

import gc
import os

from dockmagic.operations.build_logs import keep_while_alive, prune_build_logs


def make_log_folder(parent, name, age, size=10):
    path = parent / name
    path.mkdir()
    (path / "step-001.log").write_bytes(b"x" * size)
    os.utime(path, (1_000_000 + age, 1_000_000 + age))
    return str(path)


class Holder:
    """Stands for a BuildResult: an object whose life keeps its log folder."""


def test_the_oldest_folders_beyond_the_newest_kept_ones_are_removed(tmp_path):
    folders = [make_log_folder(tmp_path, f"build-{n}", age=n) for n in range(5)]
    (tmp_path / "someone-else").mkdir()

    removed = prune_build_logs(keep=2, folder=str(tmp_path))

    assert removed == folders[:3]
    assert sorted(os.listdir(tmp_path)) == ["build-3", "build-4", "someone-else"]


def test_a_folder_a_live_result_refers_to_is_kept_until_the_result_is_gone(tmp_path):
    oldest = make_log_folder(tmp_path, "build-old", age=0)
    make_log_folder(tmp_path, "build-new", age=1)
    result = Holder()
    keep_while_alive(result, oldest)

    assert prune_build_logs(keep=0, folder=str(tmp_path)) == [str(tmp_path / "build-new")]
    assert os.path.isdir(oldest)

    del result
    gc.collect()
    assert prune_build_logs(keep=0, folder=str(tmp_path)) == [oldest]


def test_a_byte_budget_removes_the_oldest_until_the_rest_fits(tmp_path):
    folders = [make_log_folder(tmp_path, f"build-{n}", age=n, size=100) for n in range(4)]

    removed = prune_build_logs(keep=None, max_bytes=250, folder=str(tmp_path), prefix="build-")

    assert removed == folders[:2]
    assert sorted(os.listdir(tmp_path)) == ["build-2", "build-3"]


def test_no_limit_removes_nothing(tmp_path):
    make_log_folder(tmp_path, "build-a", age=0)
    assert prune_build_logs(keep=None, folder=str(tmp_path)) == []
    assert os.listdir(tmp_path) == ["build-a"]
