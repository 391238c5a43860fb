"""The Engine's methods against the real engine: plain values back, dockmagic's errors for refusals, and
the same build request for both builders."""

import io
import tarfile
import uuid

import pytest

from dockmagic.errors import EngineRefused, NotFound

pytestmark = [pytest.mark.engine, pytest.mark.integration]


def dockerfile_context(text: str) -> io.BytesIO:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive.seek(0)
    return archive


def test_missing_objects_are_not_found_and_removing_one_twice_is_not_an_error(engine, unique_name):
    assert engine.ping(timeout=5)
    with pytest.raises(NotFound, match="(?i)no such container"):
        engine.inspect_container(unique_name("dmmissing"))
    with pytest.raises(NotFound):
        engine.inspect_container("Bad Name!")
    with pytest.raises(NotFound):
        engine.inspect_image(unique_name("dmmissing") + ":nope")

    container_id = engine.create_container("busybox", command=["true"], labels={"dockmagic": "test"})
    try:
        assert engine.inspect_container(container_id)["Id"] == container_id
        assert engine.stat_path(container_id, "/no/such/path") is None
        assert engine.stat_path(container_id, "/bin")["name"] == "bin"
    finally:
        assert engine.remove_container(container_id) is True
    assert engine.remove_container(container_id) is False


def test_a_refusal_carries_the_engines_words_and_status(engine):
    with pytest.raises(EngineRefused) as refused:
        engine.create_container("busybox", command=["true"], binds=["relative:/x:rw:bad"])
    assert refused.value.status_code in (400, 500)
    assert refused.value.summary


def built_image_id(messages) -> str:
    """The last image id a build stream named (one a stage; the last is the image)."""
    ids = [message["aux"]["ID"] for message in messages
           if isinstance(message.get("aux"), dict) and "ID" in message["aux"]]
    assert ids, messages[-3:]
    return ids[-1]


def test_one_build_request_for_both_builders(engine):
    text = f"FROM busybox\nRUN echo {uuid.uuid4().hex}\n"
    with engine.post_build(dockerfile_context(text), {"dockerfile": "Dockerfile", "rm": True}) as legacy:
        legacy_messages = list(legacy)
    engine.remove_image(built_image_id(legacy_messages), force=True)

    params = {"dockerfile": "Dockerfile", "networkmode": "host", "rm": True}
    with engine.post_build(dockerfile_context(text), params, query_version="2") as buildkit:
        messages = list(buildkit)
    image_id = built_image_id(messages)
    engine.remove_image(image_id, force=True)
    assert engine.is_podman or image_id.startswith("sha256:")
    if not engine.is_podman:  # Podman ignores version=2 and answers in its own dialect
        assert any(message.get("id") == "moby.buildkit.trace" for message in messages)
