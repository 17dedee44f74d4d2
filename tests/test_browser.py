"""Every notebook, run in JupyterLab in a real browser (headless Chromium), as a learner runs it.

For each notebook: open it, clear the outputs, Run All once the kernel is idle, then check
that no cell failed outside those tagged raises-exception, that every Mermaid diagram
rendered, and that show() rendered its HTML. A screenshot of each goes to screenshots/.

Needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). Without it the
test is skipped locally, and fails in CI (CI=true).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests

from conftest import NOTEBOOKS, ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "screenshots"



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port, serving throw-away copies of the notebooks."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Render every cell, not only those in view, so that every output can be checked.
    # Start the notebook's own kernel without asking (a "Select Kernel" dialog would block the run).
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none",
                                                                      "autoStartDefaultKernel": True}))
    port, token = free_port(), os.urandom(12).hex()
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_PREFER_ENV_PATH": "1"}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/api", timeout=1)
            break
        except requests.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, "JupyterLab did not start"
            time.sleep(0.1)
    yield base, token, root
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Chromium for the browser test: .ci/run installs it with apt-get.", pytrace=False)
        pytest.skip("No Chromium: `sudo apt-get install -y chromium` enables the browser test (make test-browser).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def expected(path: Path) -> tuple[int, int]:
    """(Mermaid diagrams, cells whose show() output is committed) in a notebook."""
    notebook = nbformat.read(path, as_version=4)
    diagrams = sum(cell.source.count("```mermaid") for cell in notebook.cells if cell.cell_type == "markdown")
    shows = sum(1 for cell in notebook.cells if cell.cell_type == "code"
                for output in cell.get("outputs", [])
                if 'class="helpers-show"' in "".join(output.get("data", {}).get("text/html", "")))
    return diagrams, shows


@pytest.fixture(scope="module")
def page(browser, lab):
    """One JupyterLab page for every notebook: loading the app once saves seconds per notebook."""
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/lab/tree/notebooks?reset&token={token}")
    page.locator(".jp-DirListing-item").first.wait_for(timeout=60_000)
    yield page
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(page, path):
    page.locator(".jp-DirListing-item").filter(has_text=path.name).dblclick()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").filter(has_text=path.name).wait_for(timeout=30_000)
    idle = panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    idle.wait_for(timeout=60_000)
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=60_000)  # kernel connected
    assert page.locator(".jp-Dialog").count() == 0, "a dialog blocks the notebook"
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_text("Clear Outputs of All Cells", exact=True).click()
    assert panel.locator(".jp-OutputArea-output").count() == 0
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()

    code_cells = panel.locator(".jp-CodeCell")
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=90_000)
    idle.wait_for(timeout=30_000)

    notebook = nbformat.read(path, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells.count() == len(tags)
    for index, cell_tags in enumerate(tags):
        errors = code_cells.nth(index).locator(".jp-OutputArea-output[data-mime-type="
                                               "'application/vnd.jupyter.stderr']")
        if "raises-exception" in cell_tags:
            assert errors.count() >= 1, f"cell {index} should show its exception"
        elif "nbval-skip" not in cell_tags:
            assert errors.count() == 0, f"cell {index}: {errors.first.inner_text()[:300]}"

    diagrams, shows = expected(path)
    if diagrams:
        panel.locator(".jp-RenderedMermaid img").nth(diagrams - 1).wait_for(timeout=30_000)
    assert panel.locator(".jp-RenderedMermaid img").count() == diagrams
    assert panel.locator(".helpers-show").count() == shows
    SCREENSHOTS.mkdir(exist_ok=True)
    panel.locator(".jp-WindowedPanel-outer").evaluate("element => element.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"))
