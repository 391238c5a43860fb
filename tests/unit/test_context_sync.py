"""The build session's file sync, without an engine: the packets as fsutil reads them, and which files a
session announces for the engine's patterns, in Go's walk order."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockmagic.operations.context import link_target_inside
from dockmagic.operations.context_sync import SyncedFolder, dockerfile_entry, session_folders
from dockmagic.parsing import fsutil_packets as packets
from dockmagic.parsing.protobuf_wire import WireDecodeError, bytes_field, fields, int64, integer_field, varint


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_a_varint_reads_back_as_written(value):
    (number, read), = list(fields(varint(1 << 3) + varint(value)))
    assert number == 1 and int64(read) == value


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_packet_or_a_decode_error(data):
    try:
        packet = packets.decode_packet(data)
    except WireDecodeError:
        return
    assert isinstance(packet, packets.Packet) and 0 <= packet.file_id < 1 << 32


def test_a_request_from_the_engine_names_the_file_by_its_position():
    assert packets.decode_packet(integer_field(1, packets.REQUEST) + integer_field(3, 7)) == \
        packets.Packet(packets.REQUEST, 7)
    assert packets.decode_packet(integer_field(1, packets.FIN)).kind == packets.FIN
    error = packets.decode_packet(integer_field(1, packets.ERROR) + bytes_field(4, b"disk full"))
    assert (error.kind, error.data) == (packets.ERROR, b"disk full")


def test_a_stat_packet_carries_what_fsutil_reads():
    stat_ = packets.FileStat("dir/a.txt", 0o644, 12, 1_700_000_000_123_456_789, linkname="dir/b.txt")
    (stat_field, body), = list(fields(packets.stat_packet(stat_)))  # type STAT is 0: proto3 leaves it out
    assert stat_field == 2 and packets.STAT == 0
    assert dict(fields(body)) == {1: b"dir/a.txt", 2: 0o644, 5: 12, 6: 1_700_000_000_123_456_789, 7: b"dir/b.txt"}
    assert packets.stat_packet(None) == b""  # the empty STAT that ends the list: type 0, no stat
    assert dict(fields(packets.data_packet(3, b"xyz"))) == {1: packets.DATA, 3: 3, 4: b"xyz"}
    assert dict(fields(packets.data_packet(3))) == {1: packets.DATA, 3: 3}


def test_modes_are_go_file_modes():
    assert packets.go_file_mode(stat.S_IFDIR | 0o755) == packets.GO_DIR | 0o755
    assert packets.go_file_mode(stat.S_IFLNK | 0o777) == packets.GO_SYMLINK | 0o777
    assert packets.go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o755) == packets.GO_SETUID | 0o755
    assert packets.go_file_mode(stat.S_IFREG | stat.S_ISVTX | 0o1777 & 0o777) == packets.GO_STICKY | 0o777
    assert packets.FileStat("f", 0o644).has_data and not packets.FileStat("d", packets.GO_DIR | 0o755).has_data


@pytest.fixture
def folder(tmp_path):
    for path, text in {"Dockerfile": "FROM busybox\n", ".dockerignore": "drop.txt\n", "a.txt": "a",
                       "a/b.txt": "b", "a.b/c": "c", "drop.txt": "d", "logs/keep.log": "k", "logs/x.log": "x"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    os.symlink("/etc/passwd", tmp_path / "link")
    os.link(tmp_path / "a.txt", tmp_path / "hard.txt")
    return tmp_path


def paths(entries):
    return [entry.stat.path for entry in entries]


def test_the_walk_is_gos_filepath_walk_order_with_owners_reset(folder):
    entries = SyncedFolder(str(folder)).files()
    # filepath.Walk: each folder's names sorted bytewise, a folder right before what it holds.
    assert paths(entries) == [".dockerignore", "Dockerfile", "a", "a/b.txt", "a.b", "a.b/c", "a.txt", "drop.txt",
                              "hard.txt", "link", "logs", "logs/keep.log", "logs/x.log"]
    by_path = {entry.stat.path: entry.stat for entry in entries}
    assert by_path["link"].linkname == "/etc/passwd" and by_path["link"].mode & packets.GO_SYMLINK
    assert by_path["hard.txt"].linkname == "a.txt" and by_path["hard.txt"].size == 0  # sent once, as fsutil does
    assert {(s.uid, s.gid) for s in by_path.values()} == {(0, 0)}
    assert by_path["a"].mode & packets.GO_DIR and by_path["a"].size == 0


def test_the_engines_patterns_choose_the_files(folder):
    synced = SyncedFolder(str(folder))
    assert paths(synced.files(follow=[".dockerignore"])) == [".dockerignore"]
    assert paths(synced.files(follow=["a/b.txt"])) == ["a", "a/b.txt"]
    excluded = paths(synced.files(excludes=["drop.txt", "Dockerfile", ".dockerignore", "logs"]))
    assert "drop.txt" not in excluded and "Dockerfile" not in excluded and ".dockerignore" not in excluded
    assert not any(p.startswith("logs") for p in excluded)
    # A kept file inside an excluded folder: the folder is announced before it, once.
    assert [p for p in paths(synced.files(excludes=["logs", "!logs/keep.log"])) if p.startswith("logs")] == \
        ["logs", "logs/keep.log"]
    assert paths(synced.files(excludes=["**/*.txt", "*.txt"])) == \
        [".dockerignore", "Dockerfile", "a", "a.b", "a.b/c", "link", "logs", "logs/keep.log", "logs/x.log"]
    assert paths(synced.files(includes=["logs"])) == ["logs", "logs/keep.log", "logs/x.log"]


def test_the_cell_stands_in_for_the_folders_dockerfile(folder):
    folders = session_folders("FROM busybox\nRUN echo from the cell\n", str(folder))
    context = {e.stat.path: e for e in folders["context"].files()}
    assert context["Dockerfile"].source == b"FROM busybox\nRUN echo from the cell\n"
    assert (folder / "Dockerfile").read_text() == "FROM busybox\n"  # the file on disk is untouched
    assert paths(folders["dockerfile"].files(follow=["Dockerfile", "Dockerfile.dockerignore"])) == ["Dockerfile"]
    # The same text as the folder's file: that file is sent as it is.
    same = {e.stat.path: e for e in session_folders("FROM busybox", str(folder))["context"].files()}
    assert same["Dockerfile"].source == str(folder / "Dockerfile")
    # No folder: the context holds only the Dockerfile.
    assert paths(session_folders("FROM busybox\n", None)["context"].files()) == ["Dockerfile"]


def test_a_cell_edited_to_the_same_length_is_a_changed_file(folder):
    """The engine keeps an unchanged file by size and time; an edit that keeps the size must change the time."""
    first, _ = dockerfile_entry("FROM busybox\nRUN echo aaa\n", str(folder))
    second, _ = dockerfile_entry("FROM busybox\nRUN echo bbb\n", str(folder))
    again, _ = dockerfile_entry("FROM busybox\nRUN echo aaa\n", str(folder))
    assert first.size == second.size and first.mod_time_ns != second.mod_time_ns
    assert first == again


def test_a_followed_folder_brings_what_it_holds_and_a_followed_link_its_target(folder):
    synced = SyncedFolder(str(folder))
    # BuildKit asks for COPY src/ as followpaths=["src"]: fsutil reads follow paths as include patterns.
    assert paths(synced.files(follow=["logs"])) == ["logs", "logs/keep.log", "logs/x.log"]
    os.symlink("a", folder / "to-a")
    assert paths(synced.files(follow=["to-a"])) == ["a", "a/b.txt", "to-a"]
    assert paths(synced.files(follow=[".dockerignore"])) == [".dockerignore"]


@pytest.mark.parametrize(("path", "target", "inside"), [
    ("link", "data.csv", "data.csv"),
    ("src/link", "../data/x.csv", "data/x.csv"),
    ("src/link", "./here", "src/here"),
    ("link", "/etc/passwd", None),             # absolute: the engine gets the link, never what it names
    ("link", "..", None),
    ("src/link", "../../outside", None),
    ("src/deep/link", "../../ok", "ok"),
])
def test_a_link_leads_inside_the_context_or_nowhere(path, target, inside):
    # One rule for both: the context's warning about links that leave it, and the files BuildKit is sent.
    assert link_target_inside(path, target) == inside
