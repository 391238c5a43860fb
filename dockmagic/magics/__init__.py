"""Thin IPython magics: parse arguments, call an operation, show its view, bind its result.

``DockMagic`` is the configurable that holds the settings (``%config DockMagic.network = "host"``, or
``c.DockMagic.network = "host"`` in ipython_config.py). Each family of magics lives in its own module as a
``Magics`` class that reads those settings; ``register`` adds them all, ``unregister`` removes them.
"""

from __future__ import annotations

from .settings import DockMagic


def _magic_classes():
    # Imported here so that loading the package does not import IPython's magic machinery twice.
    from .build import BuildMagics
    from .containers import ContainerMagics
    from .engine import EngineMagics
    from .images import ImageMagics

    return [BuildMagics, ContainerMagics, ImageMagics, EngineMagics]


def register(ipython):
    settings = DockMagic.instance(parent=ipython) if not DockMagic.initialized() else DockMagic.instance()
    if settings not in ipython.configurables:
        ipython.configurables.append(settings)
    from .failures import clear_failures
    from .recording import recording_wrapper

    manager = ipython.magics_manager
    for magic_class in _magic_classes():
        ipython.register_magics(magic_class(shell=ipython, settings=settings))
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
