"""Images: make sure one is there (pulling once, as ``docker run`` does), list them, remove them."""

from __future__ import annotations

from .. import notices
from ..engine import Engine, connect
from ..errors import EngineRefused, Interrupted, InvalidInput, NotFound, first_line
from ..parsing.image_names import docker_image_id, familiar_image_name
from ..views.tables import Table, images_table
from .lookup import find_image, missing_image_message
from .names import check_image_reference, check_names
from .results import Removed


def ensure_image(engine: Engine, reference: str, notify=None) -> dict:
    """Inspect ``reference``; only when it is absent, try one pull (as ``docker run`` does), saying so
    on ``notify`` (a text stream, default sys.stderr).

    Raises:
        NotFound: absent, and the pull failed. Interrupted: interrupted while pulling.
    """
    check_image_reference(reference)
    try:
        return engine.inspect_image(reference)
    except NotFound:
        pass
    if "@" not in reference and ":" not in reference.rsplit("/", 1)[-1]:
        reference_to_pull = reference + ":latest"
    else:
        reference_to_pull = reference
    notices.notify(f"Unable to find image {reference_to_pull!r} locally: pulling it", notify)
    try:
        # Streamed so that an interrupt stops it; an unreachable registry fails within a moment.
        for _ in engine.pull_image(reference_to_pull):
            pass
        return engine.inspect_image(reference_to_pull)
    except KeyboardInterrupt:
        # The interrupted request's connection is dropped. The engine may go on trying the registry until
        # its own timeout (Docker: 10 s for a TLS handshake), but nothing of it reaches this run.
        raise Interrupted(
            f"Interrupted while pulling {reference_to_pull!r}: dockmagic stopped waiting for the engine; "
            "nothing was pulled and no container was made."
        ) from None
    except (EngineRefused, NotFound) as error:
        raise NotFound(missing_image_message(engine, reference, first_line(str(error)))) from None


def list_images(*, engine: Engine | None = None) -> Table:
    """The images as ``docker images`` shows them."""
    engine = engine or connect()
    return images_table(engine.list_images())


def remove_images(references, *, force: bool = False, engine: Engine | None = None) -> Removed:
    """Remove the images ``references`` (names or ids). All are looked up first: an unknown one is an
    error before anything is removed. An image a container still uses is refused unless ``force``."""
    references = check_names(references, check_image_reference,
                             "Name at least one image to remove, e.g. %docker_rmi myimage:latest.")
    engine = engine or connect()
    for reference in references:
        find_image(engine, reference)
    lines = []
    for reference in references:
        try:
            answers = engine.remove_image(reference, force=force)
        except (EngineRefused, NotFound) as error:
            done = f" Removed before it: {', '.join(lines)}." if lines else ""
            raise InvalidInput(
                f"Could not remove image {reference!r}: {first_line(str(error), 300)}. Remove the containers "
                f"that use it (%docker_ps -a), or use %docker_rmi -f.{done}"
            ) from None
        for answer in answers:
            if "Untagged" in answer:
                lines.append(f"Untagged: {familiar_image_name(answer['Untagged'])}")
            if "Deleted" in answer:
                lines.append(f"Deleted: {docker_image_id(answer['Deleted'])}")
    return Removed(lines)
