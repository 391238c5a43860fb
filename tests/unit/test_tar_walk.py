"""The fast tar walk against tarfile on the same archives: ustar, pax and GNU long names, links,
contents split across chunks of any size, a tar inside a tar, gzip."""

import gzip
import hashlib
import io
import tarfile

import pytest

from dockmagic.operations.tar_walk import ChunkBuffer, Gunzipped, Prefixed, walk

LONG = "deep/" + "d" * 120 + "/" + "f" * 150 + ".txt"


def make_tar(tar_format) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        for name, data in [("a.txt", b"hello\n"), (LONG, b"x" * 70_000), ("empty", b""), ("é-ü.bin", b"\0" * 513)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid = len(data), 0o640, 1000
            archive.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("deep")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "t" * 200
        archive.addfile(link)
    return buffer.getvalue()


def chunks(data: bytes, size: int):
    return [data[index:index + size] for index in range(0, len(data), size)]


def seen_by_tarfile(data: bytes):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [(m.name, m.type, m.size, m.mode, m.uid, m.linkname,
                 hashlib.sha1(archive.extractfile(m).read()).hexdigest() if m.isreg() else "") for m in archive]


def seen_by_walk(source):
    found = []
    for member in walk(source):
        digest = ""
        if member.isreg():
            hasher = hashlib.sha1()
            member.feed(member.size, hasher.update)
            digest = hasher.hexdigest()
        found.append((member.name, member.type, member.size, member.mode, member.uid, member.linkname, digest))
    return found


@pytest.mark.parametrize("tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
@pytest.mark.parametrize("chunk_size", [1, 511, 4096, 1 << 20])
def test_walk_sees_what_tarfile_sees(tar_format, chunk_size):
    data = make_tar(tar_format)
    assert seen_by_walk(ChunkBuffer(chunks(data, chunk_size))) == seen_by_tarfile(data)


def test_unread_contents_are_skipped_and_a_tar_inside_a_tar_is_walked():
    inner = make_tar(tarfile.PAX_FORMAT)
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as archive:
        for name, data in [("skipped.bin", b"s" * 3000), ("layer.tar", inner), ("layer.tar.gz", gzip.compress(inner))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    found = {}
    for member in walk(ChunkBuffer(chunks(outer.getvalue(), 1000))):
        if member.name == "skipped.bin":
            continue
        head = member.read(512)
        source = Prefixed(head, member)
        found[member.name] = seen_by_walk(Gunzipped(source) if head[:2] == b"\x1f\x8b" else source)
    assert found == {"layer.tar": seen_by_tarfile(inner), "layer.tar.gz": seen_by_tarfile(inner)}


def test_layer_members_read_by_the_oci_whiteout_rules():
    from dockmagic.operations.tar_stream import layer_entry
    assert layer_entry("./") is None
    assert layer_entry("etc/hostname") == ("path", "/etc/hostname")
    assert layer_entry("./usr/bin/") == ("path", "/usr/bin")
    assert layer_entry("etc/.wh.motd") == ("whiteout", "/etc/motd")
    assert layer_entry(".wh.opt") == ("whiteout", "/opt")
    assert layer_entry("var/cache/.wh..wh..opq") == ("opaque", "/var/cache")
    assert layer_entry(".wh..wh..opq") == ("opaque", "/")
    assert layer_entry(".wh..wh.plnk") is None
