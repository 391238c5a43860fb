"""Why a step missed the cache, from two builds' records: each cause, said in one sentence."""

from __future__ import annotations

import os
from types import SimpleNamespace

from dockmagic.operations.build_records import BuildRecord, ContextFingerprints, RecordStore, record_keys
from dockmagic.operations.cache_miss import FIRST_BUILD, NO_CACHE, explain

DOCKERFILE = ("ARG BASE=busybox\nFROM busybox\nARG PIP_VERSION=1\nCOPY requirements.txt /r.txt\n"
              "RUN echo install $PIP_VERSION\nCOPY src/ /src/\nCMD [\"sh\"]\n")


def steps(*states, builder="legacy"):
    """StepResults as a legacy build lists them: a step per instruction, numbered from 1."""
    return [SimpleNamespace(state=state, number=i + 1, label=f"Step {i + 1}/{len(states)}", stage="")
            for i, state in enumerate(states)]


def record(dockerfile=DOCKERFILE, args=None, bases=None, files=None, builder="legacy"):
    return BuildRecord(dockerfile=dockerfile, build_args=args or {}, bases=bases or {"busybox": "sha256:" + "a" * 64},
                       files=files if files is not None else {"requirements.txt": [10, 1, "r1"],
                                                              "src/app.py": [100, 1, "a1"]},
                       builder=builder)


ALL_CACHED = ("done", "done", "cached", "cached", "cached", "cached", "cached")


def test_a_cached_step_has_none_and_a_first_build_says_so():
    assert explain(record(), record(), steps(*ALL_CACHED), False) == [None] * 7
    first = explain(record(), None, steps("done", "done", "done", "done", "done", "done", "done"), False)
    assert first[:2] == [None, None] and first[3:] == [FIRST_BUILD] * 4
    assert explain(record(), record(), steps(*["done"] * 7), True)[3:] == [NO_CACHE] * 4


def test_a_changed_file_names_the_files_and_the_later_steps_say_an_earlier_one_ran():
    changed = record(files={"requirements.txt": [12, 2, "r2"], "src/app.py": [100, 1, "a1"], "src/new.py": [5, 2, "n"]})
    why = explain(changed, record(), steps("done", "done", "cached", "done", "done", "done", "cached"), False)
    assert why[3] == "files it copies changed: modified requirements.txt (10B → 12B)"
    assert why[4] == "an earlier step ran (step 4: COPY requirements.txt /r.txt), so this one had to run too"
    assert why[5] == "files it copies changed: added src/new.py (5B)"
    assert why[6] is None


def test_a_touched_file_with_the_same_bytes_is_not_a_change():
    touched = record(files={"requirements.txt": [10, 99, "r1"], "src/app.py": [100, 1, "a1"]})
    why = explain(touched, record(), steps("done", "done", "cached", "done", "cached", "cached", "cached"), False)
    assert why[3].startswith("nothing dockmagic compares changed")


def test_an_edited_instruction_a_build_argument_and_the_base_image():
    edited = record(dockerfile=DOCKERFILE.replace("echo install", "echo  installing"))
    why = explain(edited, record(), steps("done", "done", "cached", "cached", "done", "cached", "cached"), False)
    assert why[4] == "the instruction changed: `RUN echo install $PIP_VERSION` → `RUN echo installing $PIP_VERSION`"
    argued = explain(record(args={"PIP_VERSION": "2"}), record(),
                     steps("done", "done", "cached", "cached", "done", "cached", "cached"), False)
    assert argued[4] == "build argument PIP_VERSION changed: '1' → '2'"
    rebased = explain(record(bases={"busybox": "sha256:" + "b" * 64}), record(),
                      steps("done", "done", "done", "done", "done", "done", "done"), False)
    assert rebased[1] == rebased[2] == f"the base image changed: busybox was sha256:{'a' * 12}…, now sha256:{'b' * 12}…"
    assert rebased[3].startswith("an earlier step ran (step 3: ARG PIP_VERSION=1)")


def test_buildkit_steps_leave_out_the_global_args_and_the_config_only_instructions():
    bk = [SimpleNamespace(state=s, number=n, label=f"[{n}/4]" if n else "[stage-0]", stage="0")
          for s, n in [("cached", 1), ("done", 0), ("done", 2), ("cached", 3), ("cached", 4), ("done", 0)]]
    changed = record(files={"requirements.txt": [11, 2, "r3"], "src/app.py": [100, 1, "a1"]}, builder="buildkit")
    assert explain(changed, record(builder="buildkit"), bk, False) == [
        None, None, "files it copies changed: modified requirements.txt (10B → 11B)", None, None, None]


def test_records_are_kept_per_engine_under_tag_and_cell_newest_first(tmp_path):
    store = RecordStore("unix:///var/run/docker.sock", str(tmp_path))
    first = record()
    first.keys = record_keys(["app:1"], "cell-7", None)
    store.save(first)
    second = record(args={"X": "1"})
    second.keys = record_keys([], "cell-7", None)
    store.save(second)
    assert store.find(["cell:cell-7"]).build_args == {"X": "1"}
    assert store.find(["tag:app:1"]).build_args == {}
    assert RecordStore("tcp://elsewhere:2376", str(tmp_path)).find(["tag:app:1"]) is None
    assert record_keys([], None, "/srv/ctx") == ["context:/srv/ctx"]
    assert record_keys([], None, None) == []  # untagged, outside a notebook, no folder: compared with nothing


def test_an_unchanged_rebuild_keeps_its_record_file_and_marks_it_newest(tmp_path):
    store = RecordStore("unix:///var/run/docker.sock", str(tmp_path))
    first = record(files={"data.csv": [12, 5, "sha256:ab"]})
    first.keys = record_keys(["app:1"], None, None)
    store.save(first)
    (path,) = tmp_path.rglob("*.json")
    os.utime(path, (1_000_000, 1_000_000))
    inode = path.stat().st_ino
    previous = store.find(["tag:app:1"])
    again = record(files={"data.csv": [12, 5, "sha256:ab"]})
    again.keys = record_keys(["app:1"], None, None)
    store.save(again, previous)
    assert path.stat().st_ino == inode and path.stat().st_mtime > 1_000_000  # not written: touched
    changed = record(files={"data.csv": [13, 6, "sha256:cd"]})
    changed.keys = record_keys(["app:1"], None, None)
    store.save(changed, store.find(["tag:app:1"]))
    assert store.find(["tag:app:1"]).files == {"data.csv": [13, 6, "sha256:cd"]}


def test_an_unchanged_file_keeps_its_earlier_digest_and_is_not_hashed_again():
    prints = ContextFingerprints({"a": (1, 5), "b": (2, 6)}, {"a": [1, 5, "old"], "b": [3, 1, "x"]})
    assert prints.reporter("a") is None  # size and time unchanged: the earlier digest stands
    prints.reporter("b")("new")
    assert prints.files == {"a": [1, 5, "old"], "b": [2, 6, "new"]}


def test_an_earlier_step_served_by_an_older_layer_is_named_for_the_step_that_ran():
    # BuildKit found the changed COPY in its cache (an older build copied those same bytes), but not the
    # RUN on top of it: the RUN's sentence names the COPY's change.
    changed = record(files={"requirements.txt": [13, 3, "r9"], "src/app.py": [100, 1, "a1"]})
    why = explain(changed, record(), steps("done", "done", "cached", "cached", "done", "cached", "cached"), False)
    assert why[3] is None
    assert why[4] == ("an earlier step changed (step 4: COPY requirements.txt /r.txt: files it copies changed: "
                      "modified requirements.txt (10B → 13B)); an older build's layer served it, but none was "
                      "cached on top of that for this step")
