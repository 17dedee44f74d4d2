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
    "checks": {"checks", "viewers", "client"},  # and, of the server, only PUBLIC_FACTS below
    "environment": {"serving"},  # python -m helpers.environment starts the practice API as the notebooks do
    "server": {"serving"},  # helpers/server.py: only the entry point of `python -m helpers.server`
    "": {"practice_api", "serving", "client", "viewers", "checks", "environment"},
}
# What a check may read of the server: the demo credentials and what follows from them (the stored hashes, the
# published signing key), and the server's own rules where a check must judge exactly as the server does (a
# learner's HMAC signature and SigV4 signer, notebook 07: request_signing's and sigv4's verifiers, with the
# server's clock and request type). Never the app or a transport.
PUBLIC_FACTS = {"demo", "demo_keys", "users", "passwords", "signing_key", "request_signing", "sigv4", "clock", "wsgi"}


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


IMPORTERS = {"importlib.import_module", "import_module", "__import__"}


def dotted(node: ast.AST) -> str:
    """`helpers.serving.loopback` for the expression helpers.serving.loopback; "" for anything else."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(names)]) if isinstance(node, ast.Name) else ""


def helpers_imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every use of the helpers package that reaches another module.

    Import statements (relative ones resolved, lazy ones inside functions too), and the ways round them:
    `helpers.serving.loopback...` after `import helpers.x`, importlib.import_module("helpers...") and
    __import__("helpers..."), and sys.modules["helpers..."].
    """
    found = []
    tree = ast.parse(source)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}  # a.b of a.b.c
    for node in ast.walk(tree):
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
            # `from helpers.practice_api import demo`: the names may be modules, so judge each
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            name = dotted(node)
            if name.startswith("helpers."):
                found.append((node.lineno, name))
        elif isinstance(node, ast.Call) and dotted(node.func) in IMPORTERS and node.args:
            if isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("helpers"):
                found.append((node.lineno, str(node.args[0].value)))
        elif isinstance(node, ast.Subscript) and dotted(node.value) == "sys.modules":
            if isinstance(node.slice, ast.Constant) and str(node.slice.value).startswith("helpers"):
                found.append((node.lineno, str(node.slice.value)))
    return found


def wrong_way(source: str, layer: str, module: str = "helpers.x.y", is_package: bool = False) -> list[str]:
    """The imports of `source` (a module in `layer`) that run against the rules."""
    problems = []
    for line, target in helpers_imports(source, module, is_package):
        imported = layer_of_module(target)
        if imported == layer and layer not in {"", "client", "viewers", "server"}:
            continue  # a layer's modules may import each other (client's may not: each is copied out alone)
        if layer == "checks" and imported == "practice_api" and target.split(".")[2:3] and \
                target.split(".")[2] in PUBLIC_FACTS:
            continue
        if imported not in ALLOWED[layer]:
            problems.append(f"line {line}: {layer or 'helpers/__init__'} imports {target}")
    return problems


def helper_files() -> list[Path]:
    return sorted(path for path in HELPERS.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_tree_has_its_layers_and_nothing_loose():
    top = {path.name for path in HELPERS.iterdir() if path.name != "__pycache__"}
    assert top == {"__init__.py", "practice_api", "serving", "client", "checks", "viewers.py", "environment",
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
    for layer in ("practice_api/", "serving/", "client/", "viewers.py", "checks/", "environment/"):
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
    ("from helpers.practice_api.signing_key import public_key", "checks", False),
    ("from helpers.practice_api.app import PracticeAPI", "checks", True),  # a whole server inside a check
    ("from helpers.practice_api import tokens", "checks", True),
    ("from helpers.practice_api import demo, tokens", "checks", True),
    # the ways round an import statement
    ("import helpers.checks.feedback\nhelpers.serving.inprocess.start_practice_api()", "checks", True),
    ("import helpers.client.redaction\nhelpers.serving.loopback.serve_practice_api()", "viewers", True),
    ("import helpers.practice_api.clock\nhelpers.checks.feedback.right('x')", "practice_api", True),
    ("import importlib\nimportlib.import_module('helpers.serving.inprocess')", "checks", True),
    ("from importlib import import_module\nimport_module('helpers.serving.inprocess')", "viewers", True),
    ("__import__('helpers.serving.loopback')", "checks", True),
    ("import sys\nsys.modules['helpers.serving.inprocess']", "client", True),
    ("import helpers.practice_api.clock\nhelpers.practice_api.clock.Clock()", "practice_api", False),
    ("from helpers.viewers import show", "checks", False),
    ("from helpers import checks", "environment", True),
])
def test_every_helpers_module_imports_only_what_its_layer_may__broken_copies(source, layer, flagged):
    assert bool(wrong_way(source, layer)) is flagged


def test_relative_imports_are_resolved_before_they_are_judged():
    # `from ..serving import loopback` in helpers/practice_api/app.py is helpers.serving.loopback.
    assert helpers_imports("from ..serving import loopback", "helpers.practice_api.app", False) == \
        [(1, "helpers.serving.loopback")]
    assert wrong_way("from ..serving import loopback", "practice_api", "helpers.practice_api.app")
    assert not wrong_way("from .wsgi import Request", "practice_api", "helpers.practice_api.app")


# -- every path the texts give exists --------------------------------------------------------------

# A path in prose or code, from the repository's root ("open helpers/practice_api/basic_auth.py"), and a Markdown
# link's target, from the folder of the file that holds it ("[...](../helpers/client/redaction.py)").
PATH = re.compile(r"(?<![\w./-])helpers/(?:[\w-]+/)*(?:[\w-]+(?:\.\w+)?)?")
LINK = re.compile(r"\]\(((?:\.\./)*helpers/[^)\s#]*)")
DOTTED = re.compile(r"(?<![\w./-])helpers(?:\.[A-Za-z_]\w*)+")


def texts() -> list[tuple[str, Path, str]]:
    """(where, its folder, text) for the notebooks' cells and outputs, the README, the instructor guide, and the
    source of the helpers, the tools and the tests (their docstrings and comments name paths too)."""
    sources = [*helper_files(), *sorted((ROOT / "tools").glob("*.py")),
               *(path for path in sorted((ROOT / "tests").glob("*.py")) if path.name != "test_layers.py")]  # its cases are wrong on purpose
    found = [(path.relative_to(ROOT).as_posix(), path.parent, path.read_text(encoding="utf-8"))
             for path in [ROOT / "README.md", *sorted((ROOT / "instructors").glob("*.md")), *sources]]
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            outputs = json.dumps(cell.get("outputs", []))  # a traceback or a printed path would show here
            found.append((f"{notebook.name} cell {index}", notebook.parent, "".join(cell["source"]) + outputs))
    return found


def missing_paths(text: str, folder: Path = ROOT) -> list[str]:
    """Every `helpers/...` path in `text` that is not a file or folder of the repository."""
    missing = [match for match in LINK.findall(text) if not (folder / match).exists()]
    without_links = LINK.sub("](", text)
    return missing + [match for match in PATH.findall(without_links) if not (ROOT / match).exists()]


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
    assert sum(len(PATH.findall(text)) for _, _, text in texts()) >= 20
    assert sum(len(LINK.findall(text)) for _, _, text in texts()) >= 5


def test_every_helpers_path_named_in_the_texts_exists():
    assert [(where, path) for where, folder, text in texts() for path in missing_paths(text, folder)] == []


def test_every_helpers_module_named_in_the_texts_exists():
    assert [(where, name) for where, _, text in texts() for name in missing_names(text)] == []


@pytest.mark.parametrize("text, missing", [
    ("open `helpers/basic_auth.py`", ["helpers/basic_auth.py"]),
    ("open `helpers/practice_api/basic_auth.py`", []),
    ("the folder helpers/serving/ and helpers/ itself", []),
    ("the folder helpers/server_side/", ["helpers/server_side/"]),
    ("open helpers/tokens, or `helpers/serving/tls`", ["helpers/tokens", "helpers/serving/tls"]),
    ("helpers/practice_api/README.md and helpers/practice_api/tokens.json", ["helpers/practice_api/README.md",
                                                                            "helpers/practice_api/tokens.json"]),
])
def test_every_helpers_path_named_in_the_texts_exists__broken_copies(text, missing):
    assert missing_paths(text) == missing


@pytest.mark.parametrize("text, folder, missing", [
    ("[link](../helpers/client/redaction.py)", "notebooks", []),
    ("[link](../helpers/redaction.py)", "notebooks", ["../helpers/redaction.py"]),
    ("[link](helpers/client/auth.py)", "notebooks", ["helpers/client/auth.py"]),  # from notebooks/, no ../
    ("[link](helpers/client/auth.py)", "instructors", ["helpers/client/auth.py"]),
    ("[link](helpers/client/auth.py)", ".", []),  # the README, at the root
])
def test_links_resolve_from_the_file_that_holds_them__broken_copies(text, folder, missing):
    assert missing_paths(text, ROOT / folder) == missing


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
