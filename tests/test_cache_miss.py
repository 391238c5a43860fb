"""Why a step missed the cache, on the real engine, with each builder: the sentence names the cause."""

from __future__ import annotations

import uuid

import pytest

import dockmagic
from dockmagic.operations.cache_miss import FIRST_BUILD, NO_CACHE

from .conftest import docker_cli, engine_is_podman

pytestmark = [pytest.mark.engine, pytest.mark.integration]
BUILDERS = ["legacy"] if engine_is_podman() else ["legacy", "buildkit"]
DOCKERFILE = ("FROM {base}\nARG GREETING=hello\nCOPY requirements.txt /r.txt\nRUN echo $GREETING {token}\n"
              "COPY src/ /src/\nRUN ls /src\n")


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "requirements.txt").write_text("numpy\n")
    (folder / "src" / "app.py").write_text("print('hi')\n")
    return folder


@pytest.fixture
def built(tmp_path):
    """Builds into a records folder of the test's own; removes the images afterwards."""
    images = []

    def build(dockerfile, folder, **options):
        result = dockmagic.build(dockerfile, context=str(folder), records_dir=str(tmp_path / "records"),
                                 check=False, **options)
        images.append(result.image_id)
        return result

    yield build
    for image in images:
        if image:
            docker_cli("rmi", "-f", image, check=False)


def why(result) -> dict[str, str | None]:
    return {step.instruction.split()[0] + (" " + step.instruction.split()[1] if len(step.instruction.split()) > 1
                                           else ""): step.cache_miss for step in result.steps}


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_changed_file_an_argument_and_an_edit_are_named(built, project, builder):
    token = uuid.uuid4().hex[:8]
    tag = f"dmcache-{token}:1"
    dockerfile = DOCKERFILE.format(base="busybox", token=token)
    # Bytes of this test's own: BuildKit's cache is by content, and would serve bytes an earlier run copied.
    (project / "requirements.txt").write_text(f"numpy  # {token}\n")
    (project / "src" / "app.py").write_text(f"print('{token}')\n")
    first = built(dockerfile, project, tags=[tag], builder=builder)
    assert first.ok and first.steps[3].cache_miss == FIRST_BUILD, first.error
    again = built(dockerfile, project, tags=[tag], builder=builder)
    assert [s.cache_miss for s in again.steps if s.cached] == [None] * sum(s.cached for s in again.steps)
    assert not [s.cache_miss for s in again.steps if s.cache_miss], [s.cache_miss for s in again.steps]

    (project / "requirements.txt").write_text(f"numpy  # {token}\npandas\n")
    changed = built(dockerfile, project, tags=[tag], builder=builder)
    steps = {s.instruction: s.cache_miss for s in changed.steps}
    assert steps["COPY requirements.txt /r.txt"] == "files it copies changed: modified requirements.txt (18B → 25B)"
    assert steps[f"RUN echo $GREETING {token}"] == \
        "an earlier step ran (step 3: COPY requirements.txt /r.txt), so this one had to run too" \
        if builder == "legacy" else steps[f"RUN echo $GREETING {token}"].startswith("an earlier step ran (step")

    argued = built(dockerfile, project, tags=[tag], builder=builder, build_args={"GREETING": "ciao"})
    assert {s.instruction: s.cache_miss for s in argued.steps}[f"RUN echo $GREETING {token}"] == \
        "build argument GREETING changed: 'hello' → 'ciao'"

    (project / "src" / "new.py").write_text(f"x = '{token}'\n")
    edited = built(dockerfile.replace("RUN ls /src", "RUN ls -l /src"), project, tags=[tag], builder=builder,
                   build_args={"GREETING": "ciao"})
    steps = {s.instruction: s.cache_miss for s in edited.steps}
    assert steps["COPY src/ /src/"] == "files it copies changed: added src/new.py (15B)"
    assert steps["RUN ls -l /src"] == "the instruction changed: `RUN ls /src` → `RUN ls -l /src`" \
        or steps["RUN ls -l /src"].startswith("an earlier step ran")

    no_cache = built(dockerfile, project, tags=[tag], builder=builder, no_cache=True)
    assert {s.instruction: s.cache_miss for s in no_cache.steps}["COPY src/ /src/"] == NO_CACHE
    docker_cli("rmi", tag, check=False)


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_changed_base_image_is_named_with_both_ids(built, project, builder, unique_name):
    base = f"{unique_name('dmbase')}:1"
    token = uuid.uuid4().hex[:8]
    dockerfile = f"FROM {base}\nRUN echo {token}\n"
    docker_cli("tag", "busybox:latest", base)
    try:
        first = built(dockerfile, project, tags=[f"{base}-built"], builder=builder)
        assert first.ok, first.error
        old_id = docker_cli("image", "inspect", "-f", "{{.Id}}", base).stdout.strip()
        # The same name, another image: busybox with one more file.
        docker_cli("rmi", base)
        built_base = built(f"FROM busybox\nRUN echo {token} > /marker\n", project, tags=[base], builder="legacy")
        assert built_base.ok
        again = built(dockerfile, project, tags=[f"{base}-built"], builder=builder)
        new_id = docker_cli("image", "inspect", "-f", "{{.Id}}", base).stdout.strip()
        assert again.steps[1].cache_miss == \
            f"the base image changed: {base} was {old_id[:19]}…, now {new_id[:19]}…"
    finally:
        docker_cli("rmi", "-f", base, f"{base}-built", check=False)


@pytest.mark.parametrize("builder", BUILDERS)
def test_each_step_shows_the_size_its_layer_adds_as_docker_history_does(built, project, builder, unique_name):
    from dockmagic.views.units import human_size

    tag = f"{unique_name('dmlayer')}:1"
    result = built(f"FROM busybox\nRUN head -c 250000 /dev/urandom > /blob\nCOPY requirements.txt /r.txt\n"
                   f"ENV MARK={tag}\n", project, tags=[tag], builder=builder, no_cache=True)
    try:
        assert result.ok, result.error
        cli = docker_cli("history", "--format", "{{.Size}}", tag).stdout.split()
        sizes = {step.instruction.split()[0]: step.layer_size for step in result.steps}
        assert sizes["FROM"] is None and 250_000 <= sizes["RUN"] < 260_000
        # docker history lists the newest first: ENV (legacy) or COPY (BuildKit: no entry of its own for ENV
        # in the count of layers here), then COPY, RUN.
        assert human_size(sizes["RUN"]) in cli and human_size(sizes["COPY"]) in cli
        view = result.progress.layer_sizes
        assert sorted(view.values()) == sorted(s for s in sizes.values() if s is not None)
        # An unchanged rebuild is the same image: its sizes come from the record, the same as measured.
        again = built(f"FROM busybox\nRUN head -c 250000 /dev/urandom > /blob\nCOPY requirements.txt /r.txt\n"
                      f"ENV MARK={tag}\n", project, tags=[tag], builder=builder)
        assert again.image_id == result.image_id and again.size == result.size
        assert [s.layer_size for s in again.steps] == [s.layer_size for s in result.steps]
    finally:
        docker_cli("rmi", tag, check=False)
