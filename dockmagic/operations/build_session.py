"""A BuildKit build session, as the docker CLI opens one: the engine reads the build context and the
Dockerfile from the client, through file sync, instead of receiving a tar.

Why: with an uploaded tar BuildKit copies every file of the tar (``COPY .`` then brings the
``.dockerignore`` and the ``Dockerfile`` into the image even where the ``.dockerignore`` excludes them),
and sends the whole context again on every build. Through a session BuildKit reads the ``.dockerignore``
itself, applies it as for ``docker build DIR``, and asks only for the files it does not hold already.

How: ``POST /session`` hands the connection to the engine, which then talks gRPC over HTTP/2 on it, as
the client of services the client serves. gRPC's server (grpcio) listens on a private unix socket, and the
connection is joined to it byte for byte. Served: the file sync (``DiffCopy``, packets in
:mod:`dockmagic.parsing.fsutil_packets`), the build's secrets (``GetSecret``, asked for while a
``RUN --mount=type=secret`` step runs) and the health check the engine calls to keep the session.
"""

from __future__ import annotations

import hashlib
import os
import select
import shutil
import socket
import tempfile
import threading
import uuid

from ..errors import BuildContextError
from ..parsing import fsutil_packets as packets
from ..parsing.protobuf_wire import WireDecodeError, bytes_field, fields
from .context_sync import SyncedFile, SyncedFolder

DIFF_COPY = "/moby.filesync.v1.FileSync/DiffCopy"
GET_SECRET = "/moby.buildkit.secrets.v1.Secrets/GetSecret"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
SERVING = b"\x08\x01"  # grpc.health.v1.HealthCheckResponse {status: SERVING}
CHUNK_BYTES = 256 * 1024
# The engine's gRPC client sends small messages; a file is sent in chunks well under its 4 MiB limit.
_MAX_MESSAGE = 16 * 1024 * 1024


class BuildSession:
    """A session serving ``folders`` (by the names BuildKit asks for: ``context``, ``dockerfile``) to the
    engine while a build runs: ``with BuildSession(engine, folders, key) as session:`` then build with
    ``session=session.id`` and ``remote=client-session``. (The engine reports the bytes it receives itself.)
    ``errors`` holds what went wrong on this side (a file that could not be read), in words for the user.
    ``fingerprints`` (a :class:`~dockmagic.operations.build_records.ContextFingerprints`) gets the SHA-256 of
    each file of the ``context`` folder the engine asks for."""

    def __init__(self, engine, folders: dict[str, SyncedFolder], key: str, fingerprints=None,
                 secrets: dict[str, bytes] | None = None):
        self.engine = engine
        self.folders = folders
        self.secrets = None if secrets is None else dict(secrets)  # None: no secret service at all
        self.secrets_asked: list[str] = []  # the ids the engine asked for, in order
        self.key = key
        self.id = uuid.uuid4().hex
        self.errors: list[str] = []
        self._fingerprints = fingerprints  # gets the digest of each file of the context folder sent
        self._server = None
        self._folder = None
        self._sockets: list = []

    def __enter__(self) -> BuildSession:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import grpc

        self._folder = tempfile.mkdtemp(prefix="dockmagic-session-")
        address = os.path.join(self._folder, "grpc.sock")
        services = {
            DIFF_COPY: grpc.stream_stream_rpc_method_handler(self._diff_copy, _same, _same),
            HEALTH_CHECK: grpc.unary_unary_rpc_method_handler(lambda request, context: SERVING, _same, _same),
        }
        if self.secrets is not None:
            services[GET_SECRET] = grpc.unary_unary_rpc_method_handler(self._get_secret, _same, _same)
        handlers = [grpc.method_handlers_generic_handler(method.split("/")[1], {method.split("/")[2]: handler})
                    for method, handler in services.items()]
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="dockmagic-session"),
                                   handlers=handlers,
                                   options=[("grpc.max_send_message_length", _MAX_MESSAGE),
                                            ("grpc.max_receive_message_length", _MAX_MESSAGE)])
        self._server.add_insecure_port(f"unix:{address}")
        self._server.start()
        engine_side, early = self.engine.open_session(self.id, self.key, list(services))
        self._sockets.append(engine_side)
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sockets.append(local)
        local.connect(address)
        if early:
            local.sendall(early)
        # One thread for both directions: a TLS connection (an engine over tcp with TLS) must not be read
        # and written from two threads at once (OpenSSL's connection state is not shared safely).
        threading.Thread(target=_join, args=(engine_side, local), daemon=True,
                         name="dockmagic-session-pump").start()

    def close(self) -> None:
        """End the session: the engine forgets it once its connection closes."""
        for sock in self._sockets:
            try:
                sock.close()
            except Exception:  # already closed or broken
                pass
        self._sockets = []
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # --- secrets ---

    def _get_secret(self, request: bytes, context) -> bytes:
        """``GetSecretRequest {string ID = 1}`` → ``GetSecretResponse {bytes data = 1}``; an id the build was
        not given is NotFound, which BuildKit reads as "no such secret" (an optional mount is then absent)."""
        import grpc

        try:
            secret_id = next((value for number, value in fields(request) if number == 1 and isinstance(value, bytes)),
                             b"").decode()
        except (WireDecodeError, UnicodeDecodeError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable GetSecretRequest")
        self.secrets_asked.append(secret_id)
        if secret_id not in self.secrets:
            context.abort(grpc.StatusCode.NOT_FOUND, f"secret {secret_id} not found")
        return bytes_field(1, self.secrets[secret_id])

    # --- file sync ---

    def _diff_copy(self, requests, context):
        """fsutil's sender: every file's stat, then the bytes of each file the engine asks for."""
        metadata: dict[str, list] = {}
        for key, value in context.invocation_metadata():
            metadata.setdefault(key, []).append(value)
        name = (metadata.get("dir-name") or [""])[0]
        folder = self.folders.get(name)
        if folder is None:
            yield packets.error_packet(f"this build session has no folder named {name!r}")
            return
        try:
            files = folder.files(excludes=metadata.get("exclude-patterns", []),
                                 includes=metadata.get("include-patterns", []),
                                 follow=metadata.get("followpaths", []))
        except BuildContextError as error:
            self.errors.append(str(error))
            yield packets.error_packet(str(error))
            return
        sendable: dict[int, SyncedFile] = {}
        for index, entry in enumerate(files):
            if entry.stat.has_data and entry.source is not None:
                sendable[index] = entry
            yield packets.stat_packet(entry.stat)
        yield packets.stat_packet(None)
        try:
            for raw in requests:
                packet = packets.decode_packet(raw)
                if packet.kind == packets.REQUEST:
                    entry = sendable.get(packet.file_id)
                    if entry is None:
                        yield packets.error_packet(f"invalid file id {packet.file_id}")
                        return
                    digest = self._fingerprints.reporter(entry.stat.path) if (
                        self._fingerprints is not None and name == "context") else None
                    yield from self._file_packets(packet.file_id, entry, digest)
                elif packet.kind == packets.FIN:
                    yield packets.fin_packet()
                    return
                elif packet.kind == packets.ERROR:
                    return
        except _Unreadable as error:
            self.errors.append(str(error))
            yield packets.error_packet(str(error))
        except WireDecodeError as error:
            yield packets.error_packet(f"undecodable packet: {error}")

    def _file_packets(self, file_id: int, entry: SyncedFile, on_digest=None):
        if isinstance(entry.source, bytes):
            chunks = [entry.source]
        else:
            chunks = _read_chunks(entry.source)
        hashed = hashlib.sha256() if on_digest is not None else None
        for chunk in chunks:
            if hashed is not None:
                hashed.update(chunk)
            yield packets.data_packet(file_id, chunk)
        if hashed is not None:
            on_digest(hashed.hexdigest())
        yield packets.data_packet(file_id)


class _Unreadable(Exception):
    pass


def _read_chunks(path: str):
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
    except OSError as error:
        raise _Unreadable(f"Cannot read {path!r} in the build context: {error.strerror}. Make it readable, or "
                          "list it in .dockerignore.") from None


def _same(data: bytes) -> bytes:
    return data


def _join(engine_side, local) -> None:
    """Copy bytes both ways between the engine's connection and the gRPC server's until either ends."""
    other = {id(engine_side): local, id(local): engine_side}
    sockets = [engine_side, local]
    try:
        while True:
            # Bytes TLS has already decrypted do not make the socket readable: take them first.
            ready = [sock for sock in sockets if getattr(sock, "pending", None) and sock.pending()]
            if not ready:
                ready, _, _ = select.select(sockets, [], [])
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                other[id(sock)].sendall(data)
    except (OSError, EOFError, ValueError):
        pass  # one side closed: the session is over
    finally:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except Exception:  # not a socket (an ssh channel), or already closed
                pass
