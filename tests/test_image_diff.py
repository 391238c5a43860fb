"""``%docker_diff IMAGE_A IMAGE_B`` and ``%docker_diff IMAGE --base`` on the real engine: a child of
debian:bookworm that copies a file, removes one, rewrites one with the same contents (no change: contents
are compared, not times), adds a pip dist-info and a dpkg stanza."""

from __future__ import annotations

import pytest

from dockmagic.errors import InvalidInput, NotFound
from dockmagic.operations.image_diff import FileChange, PackageChange, image_diff

from .conftest import docker_cli

pytestmark = [pytest.mark.engine, pytest.mark.integration]

DIST_INFO = "/usr/local/lib/python3.11/dist-packages/fakepkg-1.2.dist-info"
DOCKERFILE = f"""FROM debian:bookworm
COPY hello.txt /opt/demo/hello.txt
RUN rm /etc/issue.net && mkdir -p {DIST_INFO} \\
 && cp /etc/debian_version /root/v && cat /root/v > /etc/debian_version && rm /root/v \\
 && printf 'Metadata-Version: 2.1\\nName: fakepkg\\nVersion: 1.2\\n' > {DIST_INFO}/METADATA \\
 && printf 'fakepkg/__init__.py,sha256=x,1000\\n{DIST_INFO.rsplit('/', 1)[1]}/METADATA,,\\n' > {DIST_INFO}/RECORD \\
 && printf '\\nPackage: fake-tool\\nStatus: install ok installed\\nInstalled-Size: 12\\nVersion: 0.9-1\\n' \\
    >> /var/lib/dpkg/status
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    """The child image (unique content, so no other test's cache is reused), removed afterwards."""
    import uuid

    name = f"dmimgdiff-{uuid.uuid4().hex[:10]}:1"
    folder = tmp_path_factory.mktemp("imgdiff")
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "hello.txt").write_text(f"hello {name}\n")
    docker_cli("build", "-q", "-t", name, str(folder))
    yield name, len(f"hello {name}\n")
    docker_cli("rmi", "-f", name, check=False)


def expected_changes(hello_size: int) -> list[FileChange]:
    return [
        FileChange("D", "/etc/issue.net", 20),
        FileChange("A", "/opt/demo", None),
        FileChange("A", "/opt/demo/hello.txt", hello_size),
        FileChange("A", "/usr/local/lib/python3.11", None),
        FileChange("A", "/usr/local/lib/python3.11/dist-packages", None),
        FileChange("A", DIST_INFO, None),
        FileChange("A", DIST_INFO + "/METADATA", len("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.2\n")),
        FileChange("A", DIST_INFO + "/RECORD",
                   len("fakepkg/__init__.py,sha256=x,1000\nfakepkg-1.2.dist-info/METADATA,,\n")),
        FileChange("C", "/var/lib/dpkg/status", None),  # its size: from the image, by the test
    ]


def status_size(image: str) -> int:
    return int(docker_cli("run", "--rm", image, "stat", "-c", "%s", "/var/lib/dpkg/status").stdout)


def test_two_images_files_and_packages(engine, child):
    name, hello_size = child
    diff = image_diff("debian:bookworm", name, engine=engine)
    expected = expected_changes(hello_size)
    expected[-1] = expected[-1]._replace(size=status_size(name))
    assert diff.changes == expected
    assert diff.packages == [
        PackageChange("dpkg", "fake-tool", "A", None, "0.9-1", 12 * 1024),
        PackageChange("pip", "fakepkg", "A", None, "1.2", 1000),
    ]
    assert diff.counts == {"A": 7, "C": 1, "D": 1}
    assert diff.shared_layers == 1
    # The other way round, everything is reversed.
    back = image_diff(name, "debian:bookworm", engine=engine)
    assert [(c.kind, c.path) for c in back.changes if c.kind == "D"] == [
        (c.kind.replace("A", "D"), c.path) for c in expected if c.kind == "A"]
    assert [(p.kind, p.name, p.old_version) for p in back.packages] == [("D", "fake-tool", "0.9-1"),
                                                                        ("D", "fakepkg", "1.2")]


def test_base_picks_debian_and_prints_container_diff_tables(engine, child):
    name, _ = child
    diff = image_diff(name, base=True, engine=engine)
    assert diff.image_a == "debian:bookworm"
    assert diff.base_note == (f"Base: debian:bookworm, the local image whose 1 layer {name} starts with "
                              "(2 layers more above them).")
    text = str(diff)
    assert "-----Apt-----" in text and "-----Pip-----" in text and "-----File-----" in text
    assert f"Packages found only in {name}:\nNAME        VERSION   SIZE\nfake-tool   0.9-1     12.3kB" in text
    assert "These entries have been deleted from debian:bookworm:\nFILE             SIZE\n/etc/issue.net   20B" in text
    html = diff._html()
    assert "fake-tool" in html and "<script" not in html


def test_magic_compares_images_and_names_mistakes(engine, child, ipython_shell, unique_name):
    name, _ = child
    diff = ipython_shell.run_line_magic("docker_diff", f"{name} --base")
    assert [p.name for p in diff.packages] == ["fake-tool", "fakepkg"]
    with pytest.raises(NotFound, match="dmimgdiff-nothing"):
        image_diff("debian:bookworm", "dmimgdiff-nothing:1", engine=engine)
    with pytest.raises(NotFound, match="No local image has layers"):
        image_diff("debian:bookworm", base=True, engine=engine)
    container = unique_name("dmimgdiff")
    docker_cli("create", "--name", container, "debian:bookworm", "true")
    try:
        with pytest.raises(InvalidInput, match="is a container, not an image"):
            ipython_shell.run_line_magic("docker_diff", f"{container} {name}")
    finally:
        docker_cli("rm", "-f", container, check=False)


def test_history_efficiency_and_wasted_files(engine, tmp_path, unique_name):
    """A 1 MB file written in one layer and deleted in the next: dive's score drops below 1 and the file is
    listed with both layers."""
    from dockmagic.operations.history import image_history

    name = f"{unique_name('dmimgdiff-waste')}:1"
    (tmp_path / "Dockerfile").write_text(
        f"FROM debian:bookworm\nRUN head -c 1048576 /dev/urandom > /big.bin  # {name}\n"
        "RUN rm /big.bin && echo x > /small.txt\n")
    docker_cli("build", "-q", "-t", name, str(tmp_path))
    try:
        history = image_history(name, engine=engine)
    finally:
        docker_cli("rmi", "-f", name, check=False)
    assert history.efficiency is not None and history.efficiency < 1
    base_bytes = sum(layer.added_bytes for layer in history.layers if layer.created_by == "")
    assert history.efficiency == pytest.approx((base_bytes + 2) / (base_bytes + 2 + 1048576))
    [wasted] = history.wasted_files
    assert (wasted.path, wasted.size) == ("/big.bin", 1048576)
    assert "head -c 1048576" in history.layer_number(wasted.written_by).created_by
    assert "rm /big.bin" in history.layer_number(wasted.removed_by).created_by
    text = str(history)
    assert "Efficiency 99." in text and "1 wasted files:" in text
    assert "1.05MB   /big.bin   layer 2: /bin/sh -c head -c 1048576" in text


def test_history_treemap_magic_shows_largest_folders(engine, child, ipython_shell):
    name, _ = child
    treemap = ipython_shell.run_line_magic("docker_history", f"{name} --treemap")
    text = str(treemap)
    assert text.splitlines()[0].startswith(f"{name}: ")
    assert "/usr" in text.splitlines()[2]  # the largest folder of a Debian image
    opt = [entry for entry in treemap.sizes.children("/")[0] if entry.name == "opt"]
    assert opt and opt[0].layer == 2 and opt[0].size == len(f"hello {name}\n")  # the COPY step's layer
    with pytest.raises(InvalidInput, match="--treemap needs the image's files"):
        ipython_shell.run_line_magic("docker_history", f"{name} --treemap --no-files")
