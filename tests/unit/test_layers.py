"""The layers hold: parsing, models and views import nothing of docker-py, the engine, the operations or the
magics (data flows one way: engine -> operations -> parsing -> models -> views), and parsing imports no model or
view, models no view.

Checked twice: statically, by reading every import statement of every file in those folders with ``ast``
(an import inside a function counts too); and at run time, by importing each module in a fresh interpreter
and looking at ``sys.modules``, which also catches what a module pulls in through a helper outside these
folders. Each checker is also run on a deliberately bad package, so a check that cannot fail would show."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "dockmagic"
OUTSIDE = ("docker", "dockmagic.engine", "dockmagic.operations", "dockmagic.magics")
FORBIDDEN = {
    "parsing": OUTSIDE + ("dockmagic.models", "dockmagic.views"),
    "models": OUTSIDE + ("dockmagic.views",),
    "views": OUTSIDE,
}


def is_within(module: str, prefixes) -> str | None:
    """The forbidden prefix ``module`` is (or is inside), or None."""
    return next((prefix for prefix in prefixes if module == prefix or module.startswith(prefix + ".")), None)


def module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every module an import statement in ``source`` names, absolute; for ``from X import Y`` both X and
    X.Y (Y may be a submodule, as in ``from .. import engine``)."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def static_violations(root: pathlib.Path, forbidden: dict[str, tuple[str, ...]]) -> list[str]:
    """'file: imports X' for each forbidden import found in root's layer folders."""
    found = []
    for layer, prefixes in forbidden.items():
        for path in sorted((root / layer).rglob("*.py")):
            module = module_name(path, root)
            for name in sorted(imported_names(path.read_text(encoding="utf-8"), module,
                                              path.name == "__init__.py")):
                if is_within(name, prefixes):
                    found.append(f"{path.relative_to(root.parent)}: imports {name}")
    return found


# Imports one module in a fresh interpreter and prints the modules then loaded. The package's own
# __init__ (the public facade, which imports the operations on purpose) is replaced by an empty package,
# so that only what the module itself pulls in is seen.
LOADER = textwrap.dedent("""
    import importlib, json, sys, types
    root, package, module = sys.argv[1:]
    stub = types.ModuleType(package)
    stub.__path__ = [root]
    sys.modules[package] = stub
    importlib.import_module(module)
    print(json.dumps(sorted(sys.modules)))
""")


def modules_loaded_by(module: str, root: pathlib.Path) -> set[str]:
    done = subprocess.run([sys.executable, "-c", LOADER, str(root), root.name, module], capture_output=True,
                          text=True, cwd=root.parent, timeout=120)
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr}"
    return set(json.loads(done.stdout))


def runtime_violations(root: pathlib.Path, forbidden: dict[str, tuple[str, ...]]) -> list[str]:
    """'module: loads X' for each forbidden module that importing a layer's module loads."""
    found = []
    for layer, prefixes in forbidden.items():
        for path in sorted((root / layer).rglob("*.py")):
            module = module_name(path, root)
            found += [f"{module}: loads {name}" for name in sorted(modules_loaded_by(module, root))
                      if is_within(name, prefixes)]
    return found


def test_the_layer_folders_exist():
    # A renamed folder would make both checks below pass on nothing.
    for layer in FORBIDDEN:
        assert list((PACKAGE / layer).glob("*.py")), f"dockmagic/{layer}/ has no modules"


def test_no_layer_imports_what_sits_above_it():
    found = static_violations(PACKAGE, FORBIDDEN)
    assert not found, "imports against the layers (see the module docstring):\n" + "\n".join(found)


def test_importing_a_layer_loads_nothing_that_sits_above_it():
    found = runtime_violations(PACKAGE, FORBIDDEN)
    assert not found, "modules loaded against the layers (see the module docstring):\n" + "\n".join(found)


@pytest.fixture
def bad_package(tmp_path):
    """A package shaped like dockmagic whose views break the rule in every way an import can, one of
    them only through a helper outside the layer folders, and whose __init__ would fail if it ran."""
    root = tmp_path / "dockmagic"
    files = {
        "__init__.py": "raise ImportError('the package facade is not what is checked')\n",
        "engine.py": "ENGINE = 'engine'\n",
        "helper.py": "import docker\n",
        "operations/__init__.py": "",
        "operations/build.py": "BUILD = 'build'\n",
        "views/__init__.py": "",
        "views/absolute.py": "import docker.errors\n",
        "views/relative.py": "from ..engine import ENGINE\n",
        "views/submodule.py": "from .. import operations\n",
        "views/deferred.py": "def later():\n    from dockmagic.operations.build import BUILD\n",
        "views/through_a_helper.py": "from .. import helper\n",
        "views/fine.py": "import json\nimport dockerfile_parse\n",
        "models/__init__.py": "",
        "models/upward.py": "from ..views import fine\n",
        "parsing/__init__.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_static_check_finds_each_kind_of_bad_import(bad_package):
    assert static_violations(bad_package, FORBIDDEN) == [
        "dockmagic/models/upward.py: imports dockmagic.views",
        "dockmagic/models/upward.py: imports dockmagic.views.fine",
        "dockmagic/views/absolute.py: imports docker.errors",
        "dockmagic/views/deferred.py: imports dockmagic.operations.build",
        "dockmagic/views/deferred.py: imports dockmagic.operations.build.BUILD",
        "dockmagic/views/relative.py: imports dockmagic.engine",
        "dockmagic/views/relative.py: imports dockmagic.engine.ENGINE",
        "dockmagic/views/submodule.py: imports dockmagic.operations",
    ]


def test_the_runtime_check_finds_what_a_module_pulls_in(bad_package):
    found = runtime_violations(bad_package, FORBIDDEN)
    assert "dockmagic.views.absolute: loads docker" in found
    assert "dockmagic.views.relative: loads dockmagic.engine" in found
    assert "dockmagic.views.submodule: loads dockmagic.operations" in found
    assert "dockmagic.views.through_a_helper: loads docker" in found  # the static check cannot see this one
    assert "dockmagic.models.upward: loads dockmagic.views" in found
    assert not [line for line in found if line.startswith(("dockmagic.views.fine:", "dockmagic.views.deferred:"))]
