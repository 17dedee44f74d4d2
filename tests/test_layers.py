"""The file tree of helpers/ tells the architecture, and the imports keep to it.

Which layer may import which is written at the top of helpers/__init__.py. These tests read
every import with `ast` (imports inside functions too) and refuse one that runs the wrong way.
They also check that every `helpers/...` path and `helpers.<module>` name the texts give exists,
so that "open helpers/practice_api/basic_auth.py" stays true when files move.
"""
from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, ROOT

HELPERS = ROOT / "helpers"

# For each layer, the layers its modules may import ("" is the package's own __init__.py: the public names).
ALLOWED = {
    "practice_api": {"practice_api"},
    "serving": {"serving", "practice_api"},
    "client": set(),
    "viewers": {"client"},
    "checks": {"checks", "viewers", "client", "practice_api"},
    "environment": set(),
    "server": {"serving"},  # helpers/server.py: only the entry point of `python -m helpers.server`
    "": {"practice_api", "serving", "client", "viewers", "checks", "environment"},
}


def layer_of_module(dotted: str) -> str:
    """`helpers.practice_api.tokens` -> "practice_api"; `helpers` -> ""."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of_file(path: Path) -> str:
    parts = path.relative_to(HELPERS).with_suffix("").parts
    return "" if parts == ("__init__",) else parts[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def helpers_imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the helpers package, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "helpers"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "helpers":
                continue
            if target == "helpers":  # `from helpers import demo`: the names may be modules
                found += [(node.lineno, f"helpers.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def wrong_way(source: str, layer: str, module: str = "helpers.x.y", is_package: bool = False) -> list[str]:
    """The imports of `source` (a module in `layer`) that run against the rules."""
    problems = []
    for line, target in helpers_imports(source, module, is_package):
        imported = layer_of_module(target)
        if imported == layer and layer not in {"", "client", "viewers", "environment", "server"}:
            continue  # a layer's modules may import each other (client's may not: each is copied out alone)
        if imported not in ALLOWED[layer]:
            problems.append(f"line {line}: {layer or 'helpers/__init__'} imports {target}")
    return problems


def helper_files() -> list[Path]:
    return sorted(path for path in HELPERS.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_tree_has_its_layers_and_nothing_loose():
    top = {path.name for path in HELPERS.iterdir() if path.name != "__pycache__"}
    assert top == {"__init__.py", "practice_api", "serving", "client", "checks", "viewers.py", "environment.py",
                   "server.py"}


@pytest.mark.parametrize("folder", ["practice_api", "serving", "client", "checks"])
def test_each_folder_says_what_it_is_for(folder):
    docstring = ast.get_docstring(ast.parse((HELPERS / folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 15, f"helpers/{folder}/__init__.py needs a docstring"


def test_every_helpers_module_imports_only_what_its_layer_may():
    problems = []
    for path in helper_files():
        source = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(ROOT)}: {problem}" for problem in
                     wrong_way(source, layer_of_file(path), module_name(path), path.name == "__init__.py")]
    assert problems == []


def test_the_rules_are_written_where_the_package_starts():
    docstring = ast.get_docstring(ast.parse((HELPERS / "__init__.py").read_text(encoding="utf-8")))
    for layer in ("practice_api/", "serving/", "client/", "viewers.py", "checks/", "environment.py"):
        assert layer in docstring


@pytest.mark.parametrize("source, layer, flagged", [
    ("from helpers.serving.loopback import serve_practice_api", "practice_api", True),
    ("from helpers.viewers import show", "practice_api", True),
    ("def f():\n    from helpers.checks import feedback", "practice_api", True),  # a lazy import counts too
    ("from helpers.practice_api.wsgi import Request", "practice_api", False),
    ("from helpers.client.auth import BearerAuth", "serving", True),
    ("from helpers.viewers import show", "serving", True),
    ("from helpers.practice_api.app import PracticeAPI", "serving", False),
    ("from helpers.practice_api import demo", "client", True),
    ("import helpers.client.redaction", "client", True),
    ("from .redaction import MASK", "client", True),
    ("from helpers.practice_api.app import PracticeAPI", "viewers", True),
    ("from helpers.serving.inprocess import start_practice_api", "viewers", True),
    ("from helpers import start_practice_api", "viewers", True),  # the public face imports every layer
    ("from helpers.client.redaction import MASK", "viewers", False),
    ("from helpers.serving.inprocess import start_practice_api", "checks", True),
    ("from helpers.serving import gateway", "checks", True),
    ("from helpers import serve_practice_api", "checks", True),
    ("from helpers.practice_api import demo", "checks", False),
    ("from helpers.viewers import show", "checks", False),
    ("from helpers import checks", "environment", True),
])
def test_every_helpers_module_imports_only_what_its_layer_may__broken_copies(source, layer, flagged):
    assert bool(wrong_way(source, layer)) is flagged


def test_relative_imports_are_resolved_before_they_are_judged():
    # `from ..serving import loopback` in helpers/practice_api/app.py is helpers.serving.loopback.
    assert helpers_imports("from ..serving import loopback", "helpers.practice_api.app", False) == \
        [(1, "helpers.serving")]
    assert wrong_way("from ..serving import loopback", "practice_api", "helpers.practice_api.app")
    assert not wrong_way("from .wsgi import Request", "practice_api", "helpers.practice_api.app")


# -- every path the texts give exists --------------------------------------------------------------

PATH = re.compile(r"(?<![\w.-])(?:\.\./)?helpers/(?:[\w-]+/)*(?:[\w-]+\.py)?")
DOTTED = re.compile(r"(?<![\w./-])helpers(?:\.[A-Za-z_]\w*)+")


def texts() -> list[tuple[str, str]]:
    """(where, text) for the notebooks' cells, the README, the instructor guide, and the source of the helpers,
    the tools and the tests (their docstrings and comments name paths too)."""
    sources = [*helper_files(), *sorted((ROOT / "tools").glob("*.py")),
               *(path for path in sorted((ROOT / "tests").glob("*.py")) if path.name != "test_layers.py")]  # its cases are wrong on purpose
    found = [(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
             for path in [ROOT / "README.md", ROOT / "instructors" / "README.md", *sources]]
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        found += [(f"{notebook.name} cell {index}", "".join(cell["source"])) for index, cell in enumerate(cells)]
    return found


def missing_paths(text: str) -> list[str]:
    """Every `helpers/...` path in `text` that is not a file or folder of the repository."""
    return [match for match in PATH.findall(text) if not (ROOT / match.removeprefix("../")).exists()]


def missing_names(text: str) -> list[str]:
    """Every `helpers.a.b` in `text` that is neither a module nor a name inside one."""
    missing = []
    for dotted in DOTTED.findall(text):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                missing.append(dotted)
                break
            found = getattr(found, attribute)
    return missing


def test_texts_name_paths_at_all():
    # The scan below finds what it should: if the texts stopped naming paths, it would pass on nothing.
    assert sum(len(PATH.findall(text)) for _, text in texts()) >= 20


def test_every_helpers_path_named_in_the_texts_exists():
    assert [(where, path) for where, text in texts() for path in missing_paths(text)] == []


def test_every_helpers_module_named_in_the_texts_exists():
    assert [(where, name) for where, text in texts() for name in missing_names(text)] == []


@pytest.mark.parametrize("text, missing", [
    ("open `helpers/basic_auth.py`", ["helpers/basic_auth.py"]),
    ("open `helpers/practice_api/basic_auth.py`", []),
    ("[link](../helpers/client/redaction.py)", []),
    ("[link](../helpers/redaction.py)", ["../helpers/redaction.py"]),
    ("the folder helpers/serving/ and helpers/ itself", []),
    ("the folder helpers/server_side/", ["helpers/server_side/"]),
])
def test_every_helpers_path_named_in_the_texts_exists__broken_copies(text, missing):
    assert missing_paths(text) == missing


@pytest.mark.parametrize("text, missing", [
    ("`python -m helpers.server`", []),
    ("`helpers.practice_api.tokens.TokenService`", []),
    ("`helpers.tokens`", ["helpers.tokens"]),
    ("`helpers.practice_api.tokens.NoSuchThing`", ["helpers.practice_api.tokens.NoSuchThing"]),
])
def test_every_helpers_module_named_in_the_texts_exists__broken_copies(text, missing):
    assert missing_names(text) == missing


@pytest.mark.parametrize("name", sorted(path.name for path in (HELPERS / "client").glob("*.py")
                                        if path.name != "__init__.py"))
def test_each_client_module_works_copied_out_alone(tmp_path, name):
    """What a learner does: copy one file into a project that has no `helpers`, and import it."""
    (tmp_path / name).write_bytes((HELPERS / "client" / name).read_bytes())
    program = f"import sys; sys.modules['helpers'] = None; import {name[:-3]}"  # None: `import helpers` fails
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
