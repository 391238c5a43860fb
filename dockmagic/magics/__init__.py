"""Thin IPython magics: parse arguments, call an operation, show its view, bind its result.

One module a family of magics, each a ``Magics`` class:

- build.py: ``%%dockerfile``
- containers.py: ``%docker_run``, ``%docker_start``, ``%%docker_shell``, ``%docker_stop``, ``%docker_rm``,
  ``%docker_ps``
- images.py: ``%docker_images``, ``%docker_rmi``, ``%docker_history``, ``%docker_commit``
- diff.py: ``%docker_diff``
- session_dockerfile.py: ``%docker_dockerfile``
- recording.py: ``%docker_recordings``, ``%docker_replay``
- engine.py: ``%docker_info``, ``%docker_context``
- registry.py: ``%docker_pull``, ``%docker_push``, ``%docker_login``

and what they share: settings.py (``DockMagic``, the configurable that holds the settings:
``%config DockMagic.network = "host"``, or ``c.DockMagic.network = "host"`` in ipython_config.py),
options.py (the options several magics take), display.py (how results and builds are shown), base.py,
cell_recording.py and failures.py (what wraps every magic). ``register`` adds them all, ``unregister``
removes them.
"""

from __future__ import annotations

from .settings import DockMagic


def _magic_classes():
    # Imported here so that loading the package does not import IPython's magic machinery twice.
    from .build import BuildMagics
    from .containers import ContainerMagics
    from .diff import DiffMagics
    from .engine import EngineMagics
    from .images import ImageMagics
    from .recording import RecordingMagics
    from .registry import RegistryMagics
    from .session_dockerfile import SessionDockerfileMagics

    return [BuildMagics, ContainerMagics, ImageMagics, DiffMagics, SessionDockerfileMagics, RecordingMagics,
            EngineMagics, RegistryMagics]


def _shown_once_types():
    """The results a magic shows itself, which the cell's Out must not show again."""
    from ..operations.commit import CommitResult
    from ..operations.diff import ContainerDiff
    from ..operations.history import ImageHistory
    from ..operations.image_diff import ImageDiff
    from ..views.image_treemap import ImageTreemap

    return (ContainerDiff, CommitResult, ImageHistory, ImageDiff, ImageTreemap)


def register(ipython):
    settings = DockMagic.instance(parent=ipython) if not DockMagic.initialized() else DockMagic.instance()
    if settings not in ipython.configurables:
        ipython.configurables.append(settings)
    from .cell_recording import recording_wrapper
    from .display import ResultPublisher
    from .failures import clear_failures

    results = ResultPublisher(ipython, settings, _shown_once_types())
    manager = ipython.magics_manager
    for magic_class in _magic_classes():
        ipython.register_magics(magic_class(shell=ipython, settings=settings, results=results))
        # Each magic records its cell, or replays it with no engine, when %docker_recordings is on.
        for kind, names in magic_class.magics.items():
            for name in names:
                function = manager.magics[kind][name]
                # Outermost: an engine that went away or an interrupt shows as one line, recorded or not.
                manager.magics[kind][name] = clear_failures(
                    name, recording_wrapper(ipython, settings, name, function))


def unregister(ipython):
    manager = ipython.magics_manager
    for magic_class in _magic_classes():
        for kind, names in magic_class.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
        manager.registry.pop(magic_class.__name__, None)
    if DockMagic.initialized():
        settings = DockMagic.instance()
        if settings in ipython.configurables:
            ipython.configurables.remove(settings)
