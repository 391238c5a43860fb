"""Why a step missed the cache: one sentence per step that ran, from this build and the record of the
earlier build of the same cell or tag (:mod:`dockmagic.operations.build_records`).

The engine says only that a step ran instead of coming from the cache. The causes, in the order they
are looked for: ``--no-cache``; no earlier build known ("first build"); the stage's base image changed;
the instruction's text changed; a build argument it uses changed; a file it copies changed (added,
removed, modified: by the SHA-256 of its bytes where both builds read it, else by size and time); the
stage it copies from ran again; an earlier step of its stage ran, so it had to. When none of these
changed, the engine's cache itself lost the layer (pruned, or the image removed), and the sentence
says so.
"""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..parsing.dockerfile import Instruction, from_image_and_stage, parse_dockerfile
from .build_records import BuildRecord

NO_CACHE = "--no-cache was given: every step ran"
FIRST_BUILD = "first build: dockmagic knows no earlier build of this cell or tag on this engine"
BUILD_WIDE_REASONS = (NO_CACHE, FIRST_BUILD)
MAX_FILES_NAMED = 5
_ARG_USE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class PlacedInstruction:
    """An instruction and where it stands: its stage (-1 before the first FROM) and position in it."""
    instruction: Instruction
    stage: int
    position: int

    @property
    def keyword(self) -> str:
        return self.instruction.keyword


@functools.lru_cache(maxsize=32)  # a build asks for its own Dockerfile's several times, and its record's
def placed_instructions(dockerfile: str) -> tuple[PlacedInstruction, ...]:
    placed, stage, position = [], -1, 0
    for instruction in parse_dockerfile(dockerfile):
        if instruction.keyword == "FROM":
            stage, position = stage + 1, 0
        placed.append(PlacedInstruction(instruction, stage, position))
        position += 1
    return tuple(placed)


def step_places(dockerfile: str, steps: Sequence) -> list[PlacedInstruction] | None:
    """The instruction of each step (a legacy build has a step for each, a BuildKit build none for the
    global ARGs), or None when they do not line up."""
    placed = list(placed_instructions(dockerfile))
    if len(steps) == len(placed) - sum(1 for p in placed if p.stage == -1):
        placed = [p for p in placed if p.stage != -1]
    return placed if len(steps) == len(placed) else None


def _stage_names(placed: list[PlacedInstruction]) -> dict[str, int]:
    names = {}
    for item in placed:
        if item.keyword == "FROM":
            _, name = from_image_and_stage(item.instruction.arguments)
            names[str(item.stage)] = item.stage
            if name:
                names[name.lower()] = item.stage
    return names


def _normal(text: str) -> str:
    return " ".join(text.split())


def _arg_defaults(placed: list[PlacedInstruction], upto: PlacedInstruction) -> dict[str, str | None]:
    """The build arguments in scope at ``upto`` (declared before it in its stage, or globally before the
    first FROM and declared again in the stage), with their defaults."""
    global_args, scope = {}, {}
    for item in placed:
        if item.stage == upto.stage and item.position >= upto.position:
            break
        if item.keyword != "ARG":
            continue
        for declared in shlex.split(item.instruction.arguments, posix=True) or []:
            name, has_default, default = declared.partition("=")
            if item.stage == -1:
                global_args[name] = default if has_default else None
            elif item.stage == upto.stage:
                scope[name] = default if has_default else global_args.get(name)
    return scope


def _changed_args(placed, item, current: dict, previous: dict, previous_placed) -> list[str]:
    """The build arguments ``item`` uses whose values differ between the two builds, as sentences."""
    scope = _arg_defaults(placed, item)
    old_scope = _arg_defaults(previous_placed, item) if previous_placed else scope
    used = set(scope) if item.keyword == "RUN" else set(_ARG_USE.findall(item.instruction.arguments)) & set(scope)
    changes = []
    for name in sorted(used):
        new = current.get(name, scope.get(name))
        old = previous.get(name, old_scope.get(name))
        if new != old:
            changes.append(f"build argument {name} changed: {old!r} → {new!r}" if old is not None
                           else f"build argument {name} is new: {new!r}")
    return changes


def copy_sources(instruction: Instruction) -> list[str] | None:
    """The context paths a COPY or ADD reads (None: it reads from a stage or an image, or a URL)."""
    if instruction.keyword not in ("COPY", "ADD"):
        return None
    if any(flag.startswith("--from=") for flag in instruction.flags):
        return None
    command = instruction.command.strip()
    if command.startswith("["):
        import json

        try:
            words = json.loads(command)
        except ValueError:
            return None
    else:
        words = command.split()
    sources = words[:-1]
    if any("://" in source for source in sources):
        return None
    return [posixpath.normpath(source.lstrip("/")) if source.strip("/.") else "." for source in sources]


def _under(path: str, sources: list[str]) -> bool:
    for source in sources:
        if source == "." or path == source or path.startswith(source + "/"):
            return True
        if any(c in source for c in "*?[") and (fnmatch.fnmatchcase(path, source)
                                                 or fnmatch.fnmatchcase(path.split("/")[0], source)):
            return True
    return False


def _size(size: int) -> str:
    from ..views.units import human_size

    return human_size(size)


def changed_files(sources: list[str], current: dict, previous: dict) -> list[str]:
    """``modified app.py (1.2kB → 1.3kB)``, ``added new.txt (5B)``, ``removed old.txt``: the files under
    ``sources`` that differ between two builds' fingerprints."""
    found = []
    for path in sorted(set(current) | set(previous)):
        if not _under(path, sources):
            continue
        new, old = current.get(path), previous.get(path)
        if old is None:
            found.append(f"added {path} ({_size(new[0])})")
        elif new is None:
            found.append(f"removed {path}")
        elif (new[2] and old[2] and new[2] != old[2]) or new[0] != old[0] or \
                (not (new[2] and old[2]) and new[1] != old[1]):
            sizes = f"{_size(old[0])} → {_size(new[0])}" if old[0] != new[0] else _size(new[0])
            found.append(f"modified {path} ({sizes})")
    return found


def _files_sentence(changes: list[str]) -> str:
    shown = ", ".join(changes[:MAX_FILES_NAMED])
    more = len(changes) - MAX_FILES_NAMED
    return f"files it copies changed: {shown}" + (f" and {more} more" if more > 0 else "")


def explain(current: BuildRecord, previous: BuildRecord | None, steps: Sequence, no_cache: bool,
            layer_gone=lambda layer: False) -> list[str | None]:
    """One sentence per step of ``steps`` (a build's StepResults, in file order) that ran although it
    could have come from the cache; None for the others (cached, skipped, FROM, an instruction that
    makes no layer). ``layer_gone(layer_id)``: whether the engine no longer has a layer of the earlier build
    (asked only for a step that ran with nothing else to explain it)."""
    placed = step_places(current.dockerfile, steps)
    if placed is None:
        return [None] * len(steps)
    previous_placed = placed_instructions(previous.dockerfile) if previous else []
    old_at = {(p.stage, p.position): p for p in previous_placed}
    names = _stage_names(placed)
    froms = {p.stage: p for p in placed if p.keyword == "FROM"}
    first_changed: dict[int, tuple] = {}  # stage -> (number, text, ran, reasons) of its first step that changed
    if not any(step.state in ("done", "failed") for step, item in zip(steps, placed, strict=True)
               if item.keyword != "FROM"):
        # Nothing ran (a cached rebuild): no step needs a reason; a FROM still says if its base changed.
        return [_base_sentence(item, current, previous) if item.keyword == "FROM" and not no_cache
                and step.state in ("done", "cached") else None for step, item in zip(steps, placed, strict=True)]
    found: list[str | None] = []
    for index, (step, item) in enumerate(zip(steps, placed, strict=True)):
        if item.keyword == "FROM":
            changed = _base_sentence(item, current, previous) if step.state in ("done", "cached") else None
            found.append(changed if not no_cache else None)
            continue
        makes_no_vertex = current.builder == "buildkit" and not step.number
        if step.state not in ("done", "failed", "cached") or makes_no_vertex or item.stage == -1:  # -1: global ARG
            found.append(None)
            continue
        ran = step.state != "cached"
        if no_cache or previous is None:
            found.append((NO_CACHE if no_cache else FIRST_BUILD) if ran else None)
            continue
        reasons = _own_reasons(item, current, previous, old_at.get((item.stage, item.position)), previous_placed,
                               placed, names, froms, first_changed)
        if not ran:
            found.append(None)  # changed, yet an older build left a layer for it: served from the cache
        elif reasons:
            found.append("; ".join(reasons))
        else:
            found.append(_after_earlier(first_changed.get(item.stage)) or _engine_lost(previous, item, layer_gone))
        if ran or reasons:
            first_changed.setdefault(item.stage, (index + 1, _normal(item.instruction.written), ran, reasons))
    return found


def _own_reasons(item, current, previous, old, previous_placed, placed, names, froms, first_changed) -> list[str]:
    """What changed for this step itself since the earlier build (empty: nothing of its own)."""
    if item.stage not in first_changed:
        base = _base_sentence(froms[item.stage], current, previous) if item.stage in froms else None
        if base:
            return [base]
    reasons = []
    if old is None:
        reasons.append("a new instruction: the earlier build had none here")
    elif _normal(old.instruction.written) != _normal(item.instruction.written):
        reasons.append(f"the instruction changed: `{_normal(old.instruction.written)}` → "
                       f"`{_normal(item.instruction.written)}`")
    reasons += _changed_args(placed, item, current.build_args, previous.build_args, previous_placed)
    sources = copy_sources(item.instruction)
    if sources is not None and current.files is not None and previous.files is not None:
        files = changed_files(sources, current.files, previous.files)
        if files:
            reasons.append(_files_sentence(files))
    for flag in item.instruction.flags:
        if flag.startswith("--from="):
            name = flag[len("--from="):]
            source = names.get(name.lower())
            if source is not None and source in first_changed:
                reasons.append(f"the stage it copies from ({name}) changed")
    return reasons


def _after_earlier(earlier) -> str | None:
    if earlier is None:
        return None
    number, text, ran, reasons = earlier
    if ran:
        return f"an earlier step ran (step {number}: {text[:60]}), so this one had to run too"
    return (f"an earlier step changed (step {number}: {text[:60]}: {'; '.join(reasons)}); an older build's "
            "layer served it, but none was cached on top of that for this step")


def _engine_lost(previous, item, layer_gone) -> str:
    layer = previous.layers.get(f"{item.stage}:{item.position}")
    if layer and layer_gone(layer):
        return "the engine no longer has the layer the earlier build made (removed or pruned)"
    return ("nothing dockmagic compares changed: the engine's build cache no longer held this step "
            "(pruned, or its image removed)")


def _base_sentence(item: PlacedInstruction, current: BuildRecord, previous: BuildRecord | None) -> str | None:
    """"the base image changed: busybox:latest was sha256:1a2b…, now sha256:3c4d…", or None."""
    if previous is None:
        return None
    image, _ = from_image_and_stage(item.instruction.arguments)
    new, old = current.bases.get(image or ""), previous.bases.get(image or "")
    if new and old and new != old:
        return f"the base image changed: {image} was {old[:19]}…, now {new[:19]}…"
    return None


def explain_build(engine, result, dockerfile: str, *, build_args: dict | None, target: str | None,
                  no_cache: bool, store, keys: list[str], previous: BuildRecord | None, fingerprints=None,
                  same_image: bool = False, size: int | None = None) -> None:
    """Sets ``cache_miss`` on each of ``result.steps`` and files this build's record (a build that
    failed keeps the earlier record, which its cached steps still match)."""
    from ..errors import DockmagicError
    from ..parsing.dockerfile import base_images

    bases = dict(previous.bases) if same_image and previous is not None else {}  # the same image, the same bases
    for image in base_images(dockerfile, target) if not same_image else ():
        try:
            bases[image] = engine.inspect_image(image).get("Id", "")
        except DockmagicError:
            pass
    files = fingerprints.files if fingerprints is not None else None
    places = step_places(dockerfile, result.steps) or []
    layers = {f"{p.stage}:{p.position}": s.layer_id for p, s in zip(places, result.steps, strict=False)
              if s.layer_id}
    layer_sizes = {f"{p.stage}:{p.position}": s.layer_size for p, s in zip(places, result.steps, strict=False)
                   if s.layer_size is not None}
    current = BuildRecord(dockerfile=dockerfile, build_args=dict(build_args or {}), bases=bases, files=files,
                          layers=layers, layer_sizes=layer_sizes, size=size, builder=result.builder,
                          image_id=result.image_id or "", keys=keys)

    def layer_gone(layer: str) -> bool:
        try:
            engine.inspect_image(layer)
            return False
        except DockmagicError:
            return True

    for step, why in zip(result.steps, explain(current, previous, result.steps, no_cache, layer_gone), strict=True):
        step.cache_miss = why
    if result.ok:
        store.save(current, previous)

