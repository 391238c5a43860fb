"""A build with ``context=DIR`` is ``docker build DIR``: the same files sent, the same cache, the same image.

Three levels, each against the docker CLI itself:
- what is sent: the CLI is pointed at a local socket that records the context it uploads, and that tar is
  compared member by member (names, modes, owners, times, contents) with dockmagic's;
- what is built (engine tests): dockmagic builds a folder, then the CLI builds the same folder on the same
  engine and must find every step in the cache and end with the same image id; a rebuild is fully cached;
- a small corpus of real Dockerfiles of this field (tests/corpus, see its README): outcome, failing step,
  exit code, cache hits per step and image id compared with the CLI's build of the same folder.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socketserver
import tarfile
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dockmagic
from dockmagic.errors import BuildContextError
from dockmagic.operations.context import make_context

from .conftest import docker_cli, engine_is_podman

CORPUS = Path(__file__).parent / "corpus"
LEGACY = dict(os.environ, DOCKER_BUILDKIT="0")


@pytest.fixture(autouse=True)
def legacy_builder(monkeypatch):
    """These tests compare with the docker CLI's legacy builder: dockmagic builds with it here too
    (BuildKit's unchanged --context rebuild: tests/test_buildkit.py)."""
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")

# A folder as data scientists' repositories look: code, data, notebooks' leftovers, build output.
TREE = [
    "README.md", "readme.md", "setup.py", "notes.log", "data/raw.csv", "data/Raw.CSV", "src/pkg/__init__.py",
    "src/pkg/model.py", "src/pkg/__pycache__/model.cpython-311.pyc", "src/keep/deep/kept.pyc",
    "src/skip/gone.py", "docs/index.md", "docs/keep.md", "docs/_build/index.html", "build/lib/pkg.py",
    "node_modules/x/index.js", ".git/HEAD", ".ipynb_checkpoints/analysis-checkpoint.ipynb",
    "analysis.ipynb", "a.b", "axb", "sub/one/deep", "sub/one/two/deep", "sub.txt",
]

IGNORE_FILES = {
    "keeps-itself": "# build output\n*.log\nbuild\nnode_modules\n.git\n",
    "excludes-itself": ".dockerignore\nDockerfile\n*.log\n**/__pycache__\n",
    "negations-and-globstar": "*\n!src\n!docs\n!.dockerignore\n**/__pycache__\n**/*.pyc\n!src/keep/**/*.pyc\n"
                              "docs/**\n!docs/keep.md\nsrc/skip\n",
    "cli-quirks": "  # not a comment: a leading blank makes it a pattern\n# a comment\n/build/\n./node_modules\n"
                  "README.md\na.b\nsub/*/deep\n.ipynb_checkpoints\n",
    "everything-but": "**\n!Dockerfile\n!src/\n",
}


def populate(folder: Path, files=None) -> None:
    """Writes ``files`` (each holding its own name); by default TREE, with modes and links of all kinds."""
    for name in files or TREE:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n")
    if files:
        return
    (folder / "setup.py").chmod(0o755)
    (folder / "notes.log").chmod(0o600)
    os.symlink("setup.py", folder / "link-to-setup")
    os.link(folder / "a.b", folder / "hard-link-to-a.b")
    (folder / "empty-folder").mkdir()


# --- What is sent -------------------------------------------------------------------------------------


class _RecordingHandler(BaseHTTPRequestHandler):
    """Answers the CLI's ping and records the body of its POST /build; the build itself is refused."""

    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "local"

    def log_message(self, *args):
        pass

    def _headers(self, length: int, kind: str = "text/plain") -> None:
        self.send_header("Api-Version", "1.41")
        self.send_header("Ostype", "linux")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_HEAD(self):
        self.send_response(200)
        self._headers(0)

    def do_GET(self):
        body = b"OK" if "_ping" in self.path else b"{}"
        self.send_response(200)
        self._headers(len(body))
        self.wfile.write(body)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = bytearray()
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.uploads.append((self.path, bytes(data)))
        body = json.dumps({"error": "recorded", "errorDetail": {"message": "recorded"}}).encode() + b"\n"
        self.send_response(200)
        self._headers(len(body), "application/json")
        self.wfile.write(body)


class _RecordingServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def cli_upload():
    """``cli_upload(folder)``: the context tar and query the docker CLI sends for ``docker build folder``."""
    home = tempfile.mkdtemp(prefix="dm-cli-")  # short: a socket path has a length limit
    server = _RecordingServer(os.path.join(home, "engine.sock"), _RecordingHandler)
    server.uploads = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def upload(folder) -> tuple[str, bytes]:
        server.uploads.clear()
        env = dict(LEGACY, DOCKER_HOST=f"unix://{home}/engine.sock")
        env.pop("DOCKER_TLS_VERIFY", None)
        env.pop("DOCKER_CERT_PATH", None)
        docker_cli("build", str(folder), check=False, env=env)
        assert server.uploads, "the docker CLI sent no build request"
        return server.uploads[-1]

    yield upload
    server.shutdown()
    server.server_close()
    shutil.rmtree(home, ignore_errors=True)


def members(data: bytes) -> list[tuple]:
    """Each member of a tar as the engine reads it: every header field it hashes, and the content."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            content = archive.extractfile(member).read() if member.isreg() else b""
            found.append((member.name, member.type, oct(member.mode), member.uid, member.gid, member.uname,
                          member.gname, member.mtime, member.linkname, content))
    return found


@pytest.mark.parametrize("ignore", sorted(IGNORE_FILES))
def test_context_is_what_the_cli_sends(cli_upload, tmp_path, ignore):
    populate(tmp_path)
    (tmp_path / ".dockerignore").write_text(IGNORE_FILES[ignore])
    # A notebook cell keeps no final newline; the file on disk has one, and is sent as the CLI sends it.
    cell = "FROM busybox\nCOPY . /src/"
    (tmp_path / "Dockerfile").write_text(cell + "\n")
    query, sent = cli_upload(tmp_path)
    archive, name = make_context(cell, str(tmp_path))
    ours = archive.read()
    assert name == "Dockerfile" and "dockerfile=Dockerfile" in query
    assert members(ours) == members(sent)
    # Everything deterministic: the same folder and cell give the same bytes, so the cache can hit.
    assert make_context(cell, str(tmp_path))[0].read() == ours


def test_context_without_a_folder_dockerfile_holds_the_cell_as_dockerfile(cli_upload, tmp_path):
    populate(tmp_path, ["data.csv", "src/main.py"])
    (tmp_path / ".dockerignore").write_text("*.csv\n")
    cell = "FROM busybox\nCOPY . /src/\n"
    archive, _ = make_context(cell, str(tmp_path))
    assert not (tmp_path / "Dockerfile").exists(), "the folder was written to"
    ours = members(archive.read())
    # The CLI's upload of the same folder with the cell saved in it: the same files, the cell as Dockerfile.
    (tmp_path / "Dockerfile").write_text(cell)
    _, sent = cli_upload(tmp_path)
    without_times = [m[:7] + m[8:] for m in ours]
    assert without_times == [m[:7] + m[8:] for m in members(sent)]
    assert [m[-1] for m in ours if m[0] == "Dockerfile"] == [cell.encode()]


# --- What is built ------------------------------------------------------------------------------------


def cli_build(folder, *args) -> dict:
    """``docker build`` of ``folder`` on the tests' engine: its steps (cached or not), image id, failure."""
    iidfile = Path(tempfile.mkdtemp(prefix="dm-iid-")) / "id"
    # --force-rm: a failed step's container is removed, as dockmagic does.
    done = docker_cli("build", "--force-rm", "--iidfile", str(iidfile), *args, str(folder), check=False, env=LEGACY)
    output = done.stdout + done.stderr
    steps, failed_code = [], None
    for line in output.splitlines():
        header = re.match(r"^(?:\[\d+/\d+\] )?(?:Step|STEP) (\d+)/(\d+) ?: ", line)
        if header:
            steps.append({"number": int(header.group(1)), "cached": False})
        elif "Using cache" in line and steps:
            steps[-1]["cached"] = True
        code = re.search(r"returned a non-zero code: (\d+)|exit status (\d+)", line)
        if code:
            failed_code = int(code.group(1) or code.group(2))
    image_id = iidfile.read_text().strip() if iidfile.exists() else None
    shutil.rmtree(iidfile.parent)
    return {"ok": done.returncode == 0, "steps": steps, "image_id": image_id, "exit_code": failed_code,
            "failed_step": steps[-1]["number"] if done.returncode and steps else None, "output": output}


def same_id(one: str | None, other: str | None) -> bool:
    """Image ids equal, whether written sha256:<hex> (Docker) or bare (Podman)."""
    return bool(one and other) and one.removeprefix("sha256:") == other.removeprefix("sha256:")


@pytest.fixture
def made_images():
    """Collects the builds a test made, and removes what they created afterwards: the untagged layers of
    the steps that ran (newest first). A FROM step's layer is the base image: it stays."""
    results = []
    yield results
    for result in results:
        made = [s.layer_id for s in result.steps
                if s.layer_id and not s.cached and not s.instruction.upper().startswith("FROM")]
        for layer in reversed(made):
            tags = docker_cli("image", "inspect", "-f", "{{len .RepoTags}}", layer, check=False).stdout.strip()
            if tags == "0":
                docker_cli("rmi", layer, check=False)


def unique_folder(tmp_path: Path) -> Path:
    """A folder with a file of its own, so that this run's COPY . is new to the engine's cache: the first
    build is dockmagic's, and the CLI's build after it must find everything in the cache."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "run-id.txt").write_text(uuid.uuid4().hex)
    return folder


LISTING = "FROM busybox\nCOPY . /src/\nRUN cd /src && find . | sort && echo --- && cat .dockerignore || true\n"


@pytest.mark.engine
@pytest.mark.integration
@pytest.mark.parametrize("ignore", ["keeps-itself", "excludes-itself", "negations-and-globstar"])
def test_copy_dot_is_cached_and_the_image_is_the_clis(tmp_path, made_images, ignore):
    folder = unique_folder(tmp_path)
    populate(folder)
    (folder / ".dockerignore").write_text(IGNORE_FILES[ignore])
    (folder / "Dockerfile").write_text(LISTING)

    first = dockmagic.build(LISTING, context=str(folder))
    made_images.append(first)
    assert not any("differs" in w for w in first.warnings)
    listing, _, ignore_text = first.steps[2].log.partition("---")
    files = set(listing.split())
    assert "./src/run-id.txt" in files and not any(".dockmagic" in name for name in files)
    if ignore == "excludes-itself":
        # The CLI sends them; the engine removes them: neither reaches the image.
        assert "./.dockerignore" not in files and "./Dockerfile" not in files
        assert "./src/pkg/__pycache__" not in files and "./notes.log" not in files
    else:
        # The folder's .dockerignore reaches the image unchanged, byte for byte.
        assert ignore_text.strip() == IGNORE_FILES[ignore].strip()
    if ignore == "negations-and-globstar":
        assert {"./src/keep/deep/kept.pyc", "./docs/keep.md", "./src/pkg/model.py"} <= files
        assert not files & {"./docs/index.md", "./src/skip/gone.py", "./setup.py", "./src/pkg/__pycache__"}

    cli = cli_build(folder)
    assert cli["ok"], cli["output"]
    assert [s["cached"] for s in cli["steps"]] == [False, True, True], cli["output"]
    assert same_id(cli["image_id"], first.image_id)

    again = dockmagic.build(LISTING, context=str(folder))
    assert [s.cached for s in again.steps] == [False, True, True]
    assert again.image_id == first.image_id


@pytest.mark.engine
@pytest.mark.integration
def test_a_differing_folder_dockerfile_is_replaced_by_the_cell_and_said_once(tmp_path, made_images):
    folder = unique_folder(tmp_path)
    populate(folder, ["src/main.py", "data.csv"])
    (folder / ".dockerignore").write_text("*.csv\n")
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY main.py /\n")
    on_disk = (folder / "Dockerfile").stat()
    cell = "FROM busybox\nCOPY . /src/\nRUN cd /src && find . | sort && cat Dockerfile\n"

    notify = io.StringIO()
    first = dockmagic.build(cell, context=str(folder), notify=notify)
    made_images.append(first)
    warnings = [w for w in first.warnings if "differs" in w]
    assert len(warnings) == 1 and str(folder / "Dockerfile") in warnings[0] and "the cell's" in warnings[0]
    assert notify.getvalue().count("differs from the cell") == 1
    log = first.steps[2].log
    assert "RUN cd /src && find . | sort && cat Dockerfile" in log  # the cell's text is the image's Dockerfile
    assert "FROM scratch" not in log and ".dockmagic" not in log and "./data.csv" not in log
    assert (folder / "Dockerfile").read_text() == "FROM scratch\nCOPY main.py /\n"
    assert (folder / "Dockerfile").stat().st_mtime == on_disk.st_mtime

    again = dockmagic.build(cell, context=str(folder), notify=io.StringIO())
    assert [s.cached for s in again.steps] == [False, True, True] and again.image_id == first.image_id

    # The CLI, given the folder with the cell saved in it, reuses every step: the same image.
    saved = tmp_path / "saved"
    shutil.copytree(folder, saved, symlinks=True)
    (saved / "Dockerfile").write_text(cell)
    cli = cli_build(saved)
    assert [s["cached"] for s in cli["steps"]] == [False, True, True], cli["output"]
    assert same_id(cli["image_id"], first.image_id)


# --- A corpus of real Dockerfiles ---------------------------------------------------------------------

# What each corpus folder does on this machine's base images; the CLI must agree with dockmagic on it.
CORPUS_OUTCOME = {
    "binder-minimal": "ok",
    "binderhub": "ok",
    "docker-stacks-foundation": "ok",
    "dockerspawner-systemuser": "ok",
    "jupyterhub": "ok",
    "repo2docker-2017": ("fails", 6, 127),  # RUN pip3 install /tmp/src: no pip3 in the base image
}

# What a working copy of a repository holds besides its sources: each corpus .dockerignore meets them.
NOISE = ["__pycache__/mod.cpython-311.pyc", "dist/pkg-0.1.tar.gz", "build/lib/pkg.py", ".git/HEAD",
         ".ipynb_checkpoints/index-checkpoint.ipynb", "docs/_build/index.html", "node_modules/x/index.js"]


def test_the_corpus_is_the_one_the_test_expects():
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(CORPUS_OUTCOME)


@pytest.mark.engine
@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CORPUS_OUTCOME))
def test_corpus_builds_like_the_cli(tmp_path, made_images, name):
    folder = unique_folder(tmp_path)
    shutil.copytree(CORPUS / name, folder, symlinks=True, dirs_exist_ok=True)
    populate(folder, NOISE)
    dockerfile = (folder / "Dockerfile").read_text().rstrip("\n")  # as a notebook cell holds it

    first = dockmagic.build(dockerfile, context=str(folder), check=False)
    made_images.append(first)
    cli = cli_build(folder)
    again = dockmagic.build(dockerfile, context=str(folder), check=False)

    expected = CORPUS_OUTCOME[name]
    assert first.ok == again.ok == cli["ok"] == (expected == "ok"), (first.error, cli["output"])
    if expected != "ok":
        _, step, code = expected
        assert first.failed_step.number == again.failed_step.number == cli["failed_step"] == step
        assert first.exit_code == again.exit_code == cli["exit_code"] == code
    else:
        assert same_id(cli["image_id"], first.image_id) and again.image_id == first.image_id
    # Every step that ran before is served from the cache, by the CLI and by dockmagic alike.
    cli_cached = [s["cached"] for s in cli["steps"]]
    assert [s.cached for s in again.steps] == cli_cached, cli["output"]
    # (FROM and the ARGs before the first FROM make no layer: the engine reports no cache for them.)
    starts = [s.instruction.upper().startswith("FROM") for s in again.steps]
    ran = [s for s, is_from in zip(again.steps[starts.index(True):], starts[starts.index(True):], strict=True)
           if not is_from and s.state != "failed"]
    assert ran and all(s.cached for s in ran)
    assert not any("differs" in w for w in first.warnings)


# Pieces of .dockerignore lines: names from TREE, wildcards, folders, exceptions, the CLI's odd cases.
_PIECES = ["src", "pkg", "docs", "data", "sub", "one", "deep", "keep", "*", "**", "?", "*.py", "*.pyc", "*.md",
           "__pycache__", "[a-d]*", "[!a]*", "README.md", ".git", "build", "*.CSV", ".*", "a.b", "Dockerfile",
           ".dockerignore", "node_modules", "*_build"]


@st.composite
def dockerignore_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        parts = draw(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=3))
        line = "/".join(parts)
        line = draw(st.sampled_from(["", "!", "/", "./", " "])) + line + draw(st.sampled_from(["", "/", " "]))
        lines.append(line)
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ignore=dockerignore_lines())
def test_any_dockerignore_filters_as_the_cli_does(cli_upload, tmp_path_factory, ignore):
    folder = tmp_path_factory.mktemp("any")
    populate(folder)
    (folder / ".dockerignore").write_text(ignore)
    cell = "FROM busybox\nCOPY . /src/\n"
    (folder / "Dockerfile").write_text(cell)
    _, sent = cli_upload(folder)
    assert [m[0] for m in members(make_context(cell, str(folder))[0].read())] == [m[0] for m in members(sent)]


@pytest.mark.parametrize("ignore, message", [
    ("data/[a-\n", "pattern 'data/[a-' is not valid"),
    ("!\n", 'a line "!" alone'),
])
def test_a_bad_dockerignore_line_is_a_clear_error(tmp_path, ignore, message):
    (tmp_path / ".dockerignore").write_text(ignore)
    with pytest.raises(BuildContextError, match=re.escape(message)):
        make_context("FROM busybox\n", str(tmp_path))


def test_a_folder_named_dockerfile_is_a_clear_error(tmp_path):
    (tmp_path / "Dockerfile").mkdir()
    with pytest.raises(BuildContextError, match="is a folder"):
        make_context("FROM busybox\n", str(tmp_path))


# --- BuildKit: the same files, through a build session -------------------------------------------------

DETAILED_LISTING = ("FROM busybox\nCOPY . /src/\nCOPY src/ /only-src/\nCOPY docs/*.md /some/\n"
                    "RUN cd / && find ./src ./only-src ./some | sort | xargs stat -c '%n %a %F' "
                    "&& find ./src ./only-src ./some -type f | sort | xargs md5sum\n")


def context_bytes_sent(result) -> int:
    """What the engine reports it received of the folder ("transferring context"), in bytes."""
    row = next(r for r in result.progress.steps if r.internal and r.instruction == "[internal] load build context")
    return max(s.current for s in row.statuses if s.id.startswith("transferring context"))


@pytest.mark.engine
@pytest.mark.integration
@pytest.mark.skipif(engine_is_podman(), reason="Podman builds with buildah, which takes the tar: tested above")
@pytest.mark.parametrize("ignore", ["keeps-itself", "excludes-itself", "negations-and-globstar"])
def test_buildkit_copy_dot_gives_the_clis_files_and_a_rebuild_sends_nothing(tmp_path, made_images, monkeypatch,
                                                                          ignore):
    monkeypatch.delenv("DOCKER_BUILDKIT")
    folder = unique_folder(tmp_path)
    populate(folder)
    (folder / "src" / "weights.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # kept by every .dockerignore here
    (folder / ".dockerignore").write_text(IGNORE_FILES[ignore])
    (folder / "Dockerfile").write_text(DETAILED_LISTING)
    # The legacy build's image is the CLI's (the tests above): names, modes, kinds and contents must match.
    legacy = dockmagic.build(DETAILED_LISTING, context=str(folder), builder="legacy")
    made_images.append(legacy)
    first = dockmagic.build(DETAILED_LISTING, context=str(folder), builder="buildkit", no_cache=True)
    again = dockmagic.build(DETAILED_LISTING, context=str(folder), builder="buildkit")
    try:
        # COPY . (all the folder keeps), COPY src/ (a folder: BuildKit asks for it alone), COPY of a glob.
        listing = first.steps[-1].log.splitlines()
        assert first.builder == "buildkit" and listing == legacy.steps[-1].log.splitlines()
        assert any(line.startswith("./only-src/") for line in listing), listing
        if ignore == "excludes-itself":
            assert "./Dockerfile " not in first.steps[-1].log and "./.dockerignore " not in first.steps[-1].log
        assert [s.state for s in again.steps][1:] == ["cached"] * 4 and again.image_id == first.image_id
        # The engine kept what it received under the folder's key: only the files' stats go again.
        assert context_bytes_sent(first) > 2 * 1024 * 1024 > 100 * 1024 > context_bytes_sent(again)
    finally:
        docker_cli("rmi", first.image_id, check=False)


@pytest.mark.engine
@pytest.mark.skipif(engine_is_podman(), reason="Podman builds with buildah, which takes the tar")
def test_buildkit_sees_a_cell_edit_of_the_same_length(tmp_path, monkeypatch):
    """The engine tells an unchanged file by its size and time: an edited cell must still be read again."""
    monkeypatch.delenv("DOCKER_BUILDKIT")
    token = uuid.uuid4().hex[:8]
    built = [dockmagic.build(f"FROM busybox\nRUN echo {token}-{word}\n", context=str(tmp_path), builder="buildkit")
             for word in ("aaa", "bbb")]
    assert f"{token}-aaa" in built[0].steps[1].log and f"{token}-bbb" in built[1].steps[1].log
    for result in built:
        docker_cli("rmi", result.image_id, check=False)


@pytest.mark.engine
@pytest.mark.skipif(engine_is_podman(), reason="Podman builds with buildah: the legacy corpus test above covers it")
@pytest.mark.parametrize("name", sorted(CORPUS_OUTCOME))
def test_corpus_builds_with_buildkit_as_with_the_cli(tmp_path, monkeypatch, name):
    """The same outcome, failing step and exit code as the CLI's build (the table above, checked against it),
    and an unchanged rebuild served from the cache at every step that ran."""
    monkeypatch.delenv("DOCKER_BUILDKIT")
    folder = unique_folder(tmp_path)
    shutil.copytree(CORPUS / name, folder, symlinks=True, dirs_exist_ok=True)
    populate(folder, NOISE)
    dockerfile = (folder / "Dockerfile").read_text().rstrip("\n")
    first = dockmagic.build(dockerfile, context=str(folder), check=False, builder="buildkit")
    again = dockmagic.build(dockerfile, context=str(folder), check=False, builder="buildkit")
    try:
        expected = CORPUS_OUTCOME[name]
        assert first.builder == "buildkit" and first.ok == again.ok == (expected == "ok"), first.error
        if expected != "ok":
            _, step, code = expected
            instructions = [s.instruction for s in first.steps]
            assert instructions.index(first.failed_step.instruction) + 1 == step
            assert first.exit_code == again.exit_code == code
        else:
            assert again.image_id == first.image_id
        # The instructions that make a vertex of the build graph, numbered [stage k/N] (the others only set
        # the image's config), the base images aside.
        ran = [s for s in again.steps if s.state not in ("failed", "skipped") and s.number
               and not s.instruction.upper().startswith("FROM")]
        assert ran and all(s.cached for s in ran), [(s.instruction, s.state) for s in again.steps]
    finally:
        for result in (first, again):
            if result.image_id:
                docker_cli("rmi", result.image_id, check=False)
