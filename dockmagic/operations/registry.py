"""Pull and push images, and log in to registries, with the credentials ``docker login`` keeps.

Each transfer streams the engine's progress into a :class:`~dockmagic.models.transfer.TransferProgress`
that views observe, and ends in a :class:`TransferResult`, or in one :class:`RegistryError` sentence for
wrong credentials, an unknown image, or a registry that does not answer. Credentials come from docker's
config.json (``$DOCKER_CONFIG``, else ``~/.docker/config.json``), read afresh for every transfer.
"""

from __future__ import annotations

from collections.abc import Callable

from ..engine import Engine, connect
from ..errors import DockmagicError, EngineRefused, Interrupted, InvalidInput, NotFound, first_line
from ..models.transfer import PULL, PUSH, TransferProgress
from ..parsing.transfer_stream import TransferFailed, cli_line, parse_transfer_message
from ..views.display import TextAndHtml
from .names import check_image_reference

DOCKER_HUB = "docker.io"

# The engine's words for each kind of failure (Docker 20.10 and the distribution registry).
_CREDENTIAL_WORDS = ("unauthorized", "authentication required", "401", "no basic auth credentials",
                     "denied")
_UNKNOWN_WORDS = ("manifest unknown", "not found", "does not exist", "name unknown")
_DOWN_WORDS = ("connection refused", "connection reset", "no such host", "i/o timeout", "eof",
               "broken pipe", "no route to host", "timeout", "dial tcp")


class RegistryError(DockmagicError):
    """A pull, push or login failed; the message is one sentence saying what to do. ``reason`` is one
    of ``"credentials"``, ``"unknown image"``, ``"unreachable"``, ``"certificate"``, ``"other"``;
    ``result`` is the transfer as far as it went (None for a login)."""

    def __init__(self, message: str, reason: str = "other", result: TransferResult | None = None):
        super().__init__(message)
        self.reason = reason
        self.result = result


class TransferResult(TextAndHtml):
    """A finished pull or push: ``.reference``, ``.digest``, ``.progress`` (layers, bytes, speed,
    elapsed), and the docker CLI's text of it."""

    def __init__(self, progress: TransferProgress):
        self.progress = progress

    @property
    def reference(self) -> str:
        return self.progress.reference

    @property
    def digest(self) -> str:
        return self.progress.digest

    def _text(self) -> str:
        from ..views.transfer_text import transfer_text

        return transfer_text(self.progress)

    def __repr__(self) -> str:
        return f"<TransferResult {self.progress.kind} {self.reference} {self.digest or '(no digest)'}>"


def registry_of(reference: str) -> str:
    """The registry a reference names, as docker does: its first part when that holds a ``.`` or a
    ``:`` or is ``localhost`` (``127.0.0.1:5000/busybox`` -> ``127.0.0.1:5000``), else Docker Hub."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def with_tag(reference: str) -> str:
    """``reference`` with ``:latest`` when it names no tag nor digest."""
    if "@" in reference or ":" in reference.rsplit("/", 1)[-1]:
        return reference
    return reference + ":latest"


def pull(reference: str, *, engine: Engine | None = None, progress: TransferProgress | None = None,
         auth: dict | None = None) -> TransferResult:
    """Pull ``reference`` (``:latest`` when no tag is given) with the credentials docker's config.json
    holds for its registry (or ``auth``), streaming the progress into ``progress``.

    Raises:
        RegistryError: wrong or missing credentials, an unknown image, a registry that does not answer.
        Interrupted: interrupted (nothing is tagged: the engine tags only a complete image).
    """
    return _transfer(PULL, reference, engine, progress, auth)


def push(reference: str, *, engine: Engine | None = None, progress: TransferProgress | None = None,
         auth: dict | None = None) -> TransferResult:
    """Push the local image ``reference`` (``registry/name:tag``) to its registry, as :func:`pull` does.

    Raises:
        RegistryError: as for :func:`pull`; also when no local image has that name. A push cut in the
        middle leaves no tag in the registry (the registry tags only a complete manifest, sent last).
    """
    return _transfer(PUSH, reference, engine, progress, auth)


def pull_missing_base(engine: Engine, reference: str, on_progress: Callable[[str], None] | None = None) -> bool:
    """Before a BuildKit build: pull base image ``reference`` when the engine lacks it, with the
    credentials of its registry (BuildKit without a session cannot ask for them). ``on_progress`` gets
    each progress message as the docker CLI prints it (``eb3ed31c7b1a: Downloading 7.6MB/20MB``).

    Returns:
        True when it pulled, False when the image was there already (nothing sent to the registry).
    Raises:
        RegistryError: as :func:`pull`.
    """
    try:
        engine.inspect_image(reference)
        return False
    except NotFound:
        pass
    each_message = None
    if on_progress is not None:
        def each_message(message: dict) -> None:
            line = cli_line(message)
            if line:
                on_progress(line)
    _transfer(PULL, reference, engine, None, None, each_message=each_message)
    return True


def login(registry: str, username: str, password: str, *, engine: Engine | None = None) -> str:
    """Check the credentials with ``registry`` through the engine and keep them in docker's config.json,
    as ``docker login`` does. The password is neither returned nor kept anywhere else.

    Returns:
        ``"Login Succeeded"``.
    Raises:
        InvalidInput: an empty user name or password. RegistryError: refused, or no registry answers.
    """
    if not username or not password:
        raise InvalidInput("A user name and a password are needed to log in: give -u USER and type the "
                           "password when asked.")
    engine = engine or connect()
    try:
        engine.login(registry, username, password)
    except EngineRefused as error:
        raise RegistryError(failure_sentence(str(error), "login", registry, registry, username),
                            _reason(str(error))) from None
    return "Login Succeeded"


def credentials_for(engine: Engine, registry: str) -> dict | None:
    """What docker's config.json holds for ``registry``, as the engine takes it (None for none)."""
    found = engine.registry_auth(registry)
    if not found:
        return None
    return {key: value for key, value in found.items() if key in ("username", "password", "serveraddress",
                                                                   "identitytoken", "auth", "email")}


def failure_sentence(message: str, kind: str, reference: str, registry: str, username: str | None) -> str:
    """One sentence for a failed pull, push or login, from the engine's ``message``."""
    reason = _reason(message)
    said = first_line(message)
    if reason == "credentials":
        if username:
            return (f"The registry at {registry} refused the credentials for {username}: "
                    f"run %docker_login {registry}.")
        return (f"The registry at {registry} asks for credentials and docker's config.json holds none "
                f"for it: run %docker_login {registry}.")
    if reason == "unknown image":
        if kind == PUSH and "locally" in message:
            return (f"There is no local image {reference} to push: tag one with that name first "
                    f"(docker tag IMAGE {reference}).")
        return f"The registry at {registry} has no image {reference} ({said}): check its name and tag."
    if reason == "unreachable":
        return f"Nothing answers at {registry} ({said}): is the registry running?"
    if reason == "certificate":
        return (f"The engine does not trust the certificate of {registry} ({said}): put its CA in "
                f"/etc/docker/certs.d/{registry}/ca.crt.")
    return f"The {kind} of {reference} failed: {said}"


def _reason(message: str) -> str:
    lowered = message.lower()
    if "x509" in lowered or "certificate" in lowered:
        return "certificate"
    if any(word in lowered for word in _CREDENTIAL_WORDS):
        return "credentials"
    if any(word in lowered for word in _UNKNOWN_WORDS):
        return "unknown image"
    if any(word in lowered for word in _DOWN_WORDS):
        return "unreachable"
    return "other"


def _transfer(kind: str, reference: str, engine: Engine | None, progress: TransferProgress | None,
              auth: dict | None, each_message: Callable[[dict], None] | None = None) -> TransferResult:
    check_image_reference(reference)
    reference = with_tag(reference)
    engine = engine or connect()
    registry = registry_of(reference)
    if auth is None:
        auth = credentials_for(engine, registry)
    username = (auth or {}).get("username")
    progress = progress or TransferProgress(kind, reference)
    result = TransferResult(progress)
    progress.start()
    messages = engine.pull_image if kind == PULL else engine.push_image
    failure = ""
    try:
        # Credentials go with the request only when config.json has some for this registry: an empty
        # X-Registry-Auth makes some engines drop the connection.
        for message in messages(reference, auth_config=auth) if auth else messages(reference):
            if each_message is not None:
                each_message(message)
            event = parse_transfer_message(message)
            if isinstance(event, TransferFailed):
                failure = event.message
            progress.apply(event)
            if failure:
                break
    except KeyboardInterrupt:
        progress.finish("interrupted")
        raise Interrupted(f"Interrupted during the {kind} of {reference}: the engine stopped it; "
                          "nothing was tagged.") from None
    except (EngineRefused, NotFound) as error:
        failure = str(error)
    if failure:
        sentence = failure_sentence(failure, kind, reference, registry, username)
        if not auth and registry != DOCKER_HUB and "connection reset" in failure.lower():
            # Docker, refused for want of credentials, retries the registry over plain HTTP and reports
            # that attempt's "connection reset" instead (so does `docker pull`).
            sentence = (f"The {kind} from {registry} failed ({first_line(failure)}) and docker's config.json "
                        f"holds no credentials for it: if it asks for them, run %docker_login {registry}.")
        elif kind == PUSH and _reason(failure) == "unreachable" and progress.moved_bytes:
            sentence = (f"The registry at {registry} stopped answering during the push of {reference} "
                        f"({first_line(failure)}): it holds no tag for it; start it and push again.")
        progress.finish(sentence)
        raise RegistryError(sentence, _reason(failure), result)
    progress.finish()
    return result
