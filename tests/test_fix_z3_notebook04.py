"""Review RV5 #9: in notebook 04 every token POST whose answer is used checks for exactly 200 after
raise_for_status(), which lets a 3xx through (it raises for 4xx and 5xx only). Failed before the fix
on cells 13, 34 and 42 (first_use)."""
from __future__ import annotations

import ast

import nbformat
import requests
from IPython.core.inputtransformer2 import TransformerManager

from conftest import ROOT


def posts_checked_with_raise_for_status(tree: ast.AST) -> dict[str, bool]:
    """{name: whether `name.status_code != 200` is tested} for each `name = ....post(TOKEN_URL, ...)`
    whose answer goes through name.raise_for_status()."""
    posted = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
              and node.value.func.attr == "post" and node.value.args
              and isinstance(node.value.args[0], ast.Name) and node.value.args[0].id == "TOKEN_URL"
              for target in node.targets if isinstance(target, ast.Name)}
    raised = {node.func.value.id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and node.func.attr == "raise_for_status"
              and isinstance(node.func.value, ast.Name)}
    compared = {node.left.value.id for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Attribute) and node.left.attr == "status_code"
                and isinstance(node.left.value, ast.Name) and isinstance(node.ops[0], ast.NotEq)
                and isinstance(node.comparators[0], ast.Constant) and node.comparators[0].value == 200}
    return {name: name in compared for name in posted & raised}


def test_the_check_sees_a_missing_200_check():
    tree = ast.parse("r = requests.post(TOKEN_URL, timeout=5, allow_redirects=False)\nr.raise_for_status()\n")
    assert posts_checked_with_raise_for_status(tree) == {"r": False}


def test_every_token_post_in_04_refuses_a_status_other_than_200():
    notebook = nbformat.read(ROOT / "notebooks" / "04-oauth2.ipynb", as_version=4)
    unchecked, seen = [], 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        python = TransformerManager().transform_cell(cell.source)  # %magics become Python
        for name, checked in posts_checked_with_raise_for_status(ast.parse(python)).items():
            seen += 1
            if not checked:
                unchecked.append(f"cell {index}: {name}")
    assert seen >= 3, "the notebook's token POSTs were not found"
    assert not unchecked, f"raise_for_status() lets a redirect through; add `!= 200`: {unchecked}"


def test_raise_for_status_lets_a_redirect_through():
    response = requests.Response()
    response.status_code = 307
    response.raise_for_status()  # no exception: why the `!= 200` check is needed
