"""``%docker_commit`` and ``%docker_history`` against the real engine, compared with what the CLI says."""

from __future__ import annotations

import tracemalloc

import pytest

from dockmagic.errors import DockmagicError, NotFound
from dockmagic.operations.commit import commit
from dockmagic.operations.history import image_history, read_saved_image
from dockmagic.views.units import human_size

from .conftest import docker_cli

pytestmark = [pytest.mark.engine, pytest.mark.integration]

ODD_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def names(unique_name):
    """Unique container and image names, all removed after the test whatever happens."""
    containers, images = [], []

    def container(script: str) -> str:
        name = unique_name("dmcommit")
        containers.append(name)
        docker_cli("run", "--name", name, "busybox", "sh", "-c", script)
        return name

    def image(tag: str = "latest") -> str:
        name = f"{unique_name('dmimage')}:{tag}"
        images.append(name)
        return name

    yield container, image
    for name in containers:
        docker_cli("rm", "-f", name, check=False)
    for name in images:
        docker_cli("rmi", "-f", name, check=False)


def images_made_from(container: str) -> list[str]:
    """The ids of the images committed from ``container`` (robust to other tests making images meanwhile)."""
    container_id = docker_cli("inspect", "-f", "{{.Id}}", container).stdout.strip()
    image_ids = sorted(set(docker_cli("images", "-a", "-q", "--no-trunc").stdout.split()))
    # One inspect for all; an image another test removes meanwhile just drops out of the answer.
    answer = docker_cli("image", "inspect", "-f", "{{.Id}} {{.Container}}", *image_ids, check=False).stdout
    return [line.split()[0] for line in answer.splitlines() if line.split()[1:] == [container_id]]


def cli_history(image: str, field: str) -> list[str]:
    return docker_cli("history", "--no-trunc", "--format", "{{." + field + "}}", image).stdout.splitlines()


def test_commit_with_changes_then_the_image_runs_its_new_cmd(ipython_shell, names, capsys, engine):
    container, image = names
    name = container("echo 'hello from commit' > /greeting && rm /linuxrc")
    tag = image("1.0")
    result = ipython_shell.run_line_magic(
        "docker_commit",
        f"-m 'first commit' --author 'Ada <ada@example.org>' -c 'CMD [\"cat\", \"/greeting\"]' "
        f"-c 'ENV MODE=fast' -c 'label team=data' {name} {tag}")
    printed = capsys.readouterr().out

    assert result.image_id == docker_cli("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()
    assert result.tags == [tag]
    assert result.size == int(docker_cli("image", "inspect", "-f", "{{.Size}}", tag).stdout)
    assert human_size(result.layer_size) == cli_history(tag, "Size")[0]
    # Podman's container layer holds the mount points it made in /etc (see PODMAN_MOUNT_POINTS): docker
    # diff shows "C /etc" for every Podman container, and the counts say so too.
    changed = 1 if engine.is_podman else 0
    assert result.counts == {"A": 1, "C": changed, "D": 1}
    assert f"Committed {name} as {tag}" in printed
    assert "new layer: " in printed and f"(1 added, {changed} changed, 1 deleted)" in printed
    assert 'applied: CMD ["cat", "/greeting"]' in printed and "applied: LABEL team=data" in printed

    assert docker_cli("run", "--rm", tag).stdout == "hello from commit\n"
    config = docker_cli("image", "inspect", "-f", "{{json .Config.Env}} {{json .Config.Labels}} {{.Author}}",
                        tag).stdout
    assert "MODE=fast" in config and '"team":"data"' in config and "Ada <ada@example.org>" in config
    if engine.is_podman:
        # Podman 4 keeps a commit's message as the image's comment; its history entry says "FROM <base>".
        assert docker_cli("image", "inspect", "-f", "{{.Comment}}", tag).stdout.strip() == "first commit"
    else:
        assert cli_history(tag, "Comment")[0] == "first commit"
    html = result._repr_mimebundle_()["text/html"]
    assert "Ada &lt;ada@example.org&gt;" in html and "<ada@" not in html


@pytest.mark.parametrize("line, message", [
    ("{container} 'Bad Name!'", "not a valid repository name"),
    ("{container} Uppercase:1", "repository names are lowercase"),
    ("{container} ok@sha256:" + "0" * 64, "names a digest"),
    ("-c 'RUN echo hi' {container} {valid}", "RUN cannot be applied on commit"),
    ("-c 'CMD [cat, /x]' {container} {valid}", "JSON array of strings"),
    ("-c 'EXPOSE 70000' {container} {valid}", "is not a port"),
])
def test_invalid_name_or_change_is_an_error_and_commits_nothing(ipython_shell, names, line, message):
    container, image = names
    name = container("touch /something")
    valid = image()
    with pytest.raises(DockmagicError, match=message) as caught:
        ipython_shell.run_line_magic("docker_commit", line.format(container=name, valid=valid))
    assert not isinstance(caught.value, NotFound)
    assert images_made_from(name) == []
    assert docker_cli("image", "inspect", valid, check=False).returncode != 0


def test_names_are_checked_before_anything_is_sent(unique_name):
    # No such container and a bad name: the name is reported, so nothing was asked of the engine first.
    with pytest.raises(DockmagicError, match="not a valid repository name"):
        commit(unique_name("dmmissing"), "Bad Name!")


def test_commit_of_an_unknown_container_is_not_found(ipython_shell, unique_name):
    missing = unique_name("dmmissing")
    with pytest.raises(NotFound, match=f"No container named '{missing}'"):
        ipython_shell.run_line_magic("docker_commit", f"{missing} {unique_name('dmimage')}:1")


# What Podman writes into every container's own layer, so into every layer it commits: the mount points of
# the files and file systems it mounts (Docker keeps these in a separate init layer that is not committed).
PODMAN_MOUNT_POINTS = [
    ("A", "/dev", None), ("A", "/etc/hostname", 0), ("A", "/etc/hosts", 0), ("A", "/etc/mtab", None),
    ("A", "/etc/resolv.conf", 0), ("A", "/proc", None), ("A", "/run", None), ("A", "/run/.containerenv", 0),
    ("A", "/sys", None)]


def test_history_of_a_committed_image_matches_docker_history_and_lists_the_new_files(
        ipython_shell, names, capsys, engine):
    container, image = names
    name = container(f"echo 12345 > '/{ODD_NAME}' && echo extra >> /etc/passwd && rm /etc/group")
    tag = image()
    commit(name, tag, message="odd names")
    history = ipython_shell.run_line_magic("docker_history", tag)
    printed = capsys.readouterr().out

    # Newest first, as the CLI lists them, with the same ids, commands, sizes and comments.
    # (Docker's API and CLI write ids as sha256:<hex>, Podman's the bare hex; dockmagic writes Docker's form.)
    assert [layer.id for layer in history.layers] == [
        layer_id if layer_id.startswith(("sha256:", "<")) else "sha256:" + layer_id
        for layer_id in cli_history(tag, "ID")]
    assert [layer.created_by for layer in history.layers] == cli_history(tag, "CreatedBy")
    assert [human_size(layer.size) for layer in history.layers] == cli_history(tag, "Size")
    assert [layer.comment for layer in history.layers] == cli_history(tag, "Comment")
    top = history.layers[0]
    passwd_size = int(docker_cli("run", "--rm", tag, "wc", "-c", "/etc/passwd").stdout.split()[0])
    mount_points = PODMAN_MOUNT_POINTS if engine.is_podman else []
    assert sorted(top.files) == sorted([
        ("A", f"/{ODD_NAME}", 6), ("C", "/etc", None), ("C", "/etc/passwd", passwd_size), ("D", "/etc/group", None),
        *mount_points])
    assert top.added_bytes == 6 + passwd_size
    assert top.counts == {"A": 1 + len(mount_points), "C": 2, "D": 1}
    # Below it, the busybox layer: its /etc/passwd and /etc/group are now hidden, so wasted.
    base = history.layers[-1]
    assert any(change.path == "/bin/busybox" for change in base.added)
    group_size, old_passwd = (int(docker_cli("run", "--rm", "busybox", "wc", "-c", path).stdout.split()[0])
                              for path in ("/etc/group", "/etc/passwd"))
    assert base.wasted_bytes == group_size + old_passwd

    # What a terminal shows: the CLI's columns, the layers newest first, the files of each.
    lines = printed.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "WASTED", "FILES", "COMMENT"]
    assert lines[1].startswith(history.layers[0].id.split(":")[1][:12])
    assert f"  A /{ODD_NAME} (6B)" in printed
    # The HTML snapshot escapes the file name, and opens each layer with <details>.
    html = history._repr_mimebundle_()["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert html.count("<details") == 2  # the two layers with files


def test_wasted_bytes_when_a_later_layer_deletes_or_overwrites_files(names):
    _, image = names
    tag = image()
    dockerfile = (
        "FROM busybox\n"
        "RUN head -c 5000 /dev/zero > /big && head -c 700 /dev/zero > /over && mkdir /dir /opq "
        "&& head -c 300 /dev/zero > /dir/f && head -c 400 /dev/zero > /opq/old && echo keep > /keep\n"
        "RUN rm /big && echo new > /over && rm -r /dir /opq && mkdir /opq && echo n > /opq/new\n"
        "ENV DONE=1\n"
    )
    docker_cli("build", "-q", "-t", tag, "-", input=dockerfile)
    history = image_history(tag)
    assert [layer.created_by for layer in history.layers] == cli_history(tag, "CreatedBy")
    env, second, first, base = history.layers
    assert env.empty and env.files == []
    assert first.wasted_bytes == 5000 + 700 + 300 + 400
    assert second.wasted_bytes == 0 and base.wasted_bytes == 0
    assert history.wasted_bytes == 6400
    second_files = {(change.kind, change.path) for change in second.files}
    assert {("D", "/big"), ("D", "/dir"), ("C", "/over"), ("A", "/opq/new")} <= second_files
    # /opq was removed and made again: either a whiteout of it, or an opaque directory hiding /opq/old.
    assert ("D", "/opq") in second_files or ("D", "/opq/old") in second_files
    assert {(change.kind, change.path, change.size) for change in first.added} >= {
        ("A", "/big", 5000), ("A", "/over", 700), ("A", "/dir/f", 300), ("A", "/opq/old", 400), ("A", "/keep", 5)}
    html = history._repr_mimebundle_()["text/html"]
    assert "6.4kB wasted" in html
    text = str(history)
    assert "6.4kB wasted" in text


def test_history_of_an_unknown_image_is_not_found(ipython_shell, unique_name):
    missing = unique_name("dmmissing") + ":nope"
    with pytest.raises(NotFound, match=f"Image {missing!r} is not on"):
        ipython_shell.run_line_magic("docker_history", missing)


@pytest.mark.slow
def test_reading_a_saved_image_streams_it(engine):
    # debian:bookworm saves as ~120 MB: reading its layers must not hold their contents.
    size = int(docker_cli("image", "inspect", "-f", "{{.Size}}", "debian:bookworm").stdout)
    tracemalloc.start()
    try:
        saved = read_saved_image(engine.api.get_image("debian:bookworm"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (contents,) = saved.layers.values()
    assert sum(entry[2] for entry in contents.entries if entry[1] == "f") > size * 0.9
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte image"


@pytest.mark.parametrize("base_changes, output_with_cmd", [
    (['CMD ["echo", "from the base"]'], "made\n"),
    # CMD gives the arguments of the base's ENTRYPOINT, as `docker run IMAGE ARGS` does.
    (['ENTRYPOINT ["echo"]', 'CMD ["from the base"]'], "cat /made.txt\n"),
], ids=["cmd", "entrypoint"])
def test_a_session_commit_keeps_the_base_images_entrypoint_and_cmd(ipython_shell, names, unique_name, cleanup,
                                                                   base_changes, output_with_cmd):
    """%docker_start keeps a container of an image whose command is not a shell alive with /bin/sh: that
    plumbing must not reach what %docker_commit makes, nor the session's Dockerfile."""
    container, image = names
    base = image("base")
    commit(container("true"), base, changes=base_changes)  # (the docker CLI's commit fails on Podman 4.3)
    session = unique_name("dmcommit")
    cleanup["containers"].append(session)
    ipython_shell.run_line_magic("docker_start", f"{base} --name {session} --network none")
    ipython_shell.run_cell_magic("docker_shell", session, "echo made > /made.txt")

    with_cmd, as_is = image("cmd"), image("as-is")
    ipython_shell.run_line_magic("docker_commit", f"""-c 'CMD ["cat", "/made.txt"]' {session} {with_cmd}""")
    ran = docker_cli("run", "--rm", with_cmd, check=False)
    assert (ran.returncode, ran.stdout) == (0, output_with_cmd), ran.stderr

    ipython_shell.run_line_magic("docker_commit", f"{session} {as_is}")
    command = "{{json .Config.Entrypoint}} {{json .Config.Cmd}}"
    assert (docker_cli("image", "inspect", "-f", command, as_is).stdout
            == docker_cli("image", "inspect", "-f", command, base).stdout)
    assert docker_cli("run", "--rm", as_is).stdout == "from the base\n"

    dockerfile = ipython_shell.run_line_magic("docker_dockerfile", session).text
    assert "RUN echo made > /made.txt\n" in dockerfile
    assert "ENTRYPOINT" not in dockerfile and "CMD" not in dockerfile


def test_commit_and_history_count_a_layers_changes_alike(ipython_shell, names, capsys, engine):
    """The container's diff (what %docker_commit counts) and the committed layer's tar (what
    %docker_history reads) hold different things: the tar also keeps copies that change nothing (a file
    opened for writing and left as it was; a folder whose files came and went). Both count as docker diff
    does, and say so."""
    container, image = names
    name = container("echo new > /new.txt; : >> /etc/group; mkdir /tmp/gone; rmdir /tmp/gone; echo x >> /etc/passwd")
    tag = image()
    committed = ipython_shell.run_line_magic("docker_commit", f"{name} {tag}")
    history = ipython_shell.run_line_magic("docker_history", tag)
    printed = capsys.readouterr().out
    cli = [line.split(" ", 1) for line in docker_cli("diff", name).stdout.splitlines()]
    cli_counts = {kind: sum(1 for k, _ in cli if k == kind) for kind in "ACD"}

    layer = history.layers[0]
    assert committed.counts == cli_counts
    assert "/etc/group" not in [change.path for change in layer.files] and layer.unchanged >= 1
    if engine.is_podman:
        # Podman's diff lists the copies that change nothing (C /etc/group, C /tmp) and leaves out the
        # mount points it writes into every container's layer: there the two differ by exactly those.
        assert layer.counts["A"] == cli_counts["A"] + len(PODMAN_MOUNT_POINTS)
        assert layer.counts["C"] + layer.unchanged == cli_counts["C"]
    else:
        assert layer.counts == committed.counts
        assert ["C", "/etc/group"] not in cli and ["C", "/etc/passwd"] in cli
    rule = "as docker diff counts: a folder counts as changed when something in it changed"
    assert printed.count(rule) == 2  # once under the commit, once under the history
