"""Every notebook, run in JupyterLab in a real browser (headless Chromium), as a learner on a laptop runs it.

The window is 1280x800 with the file browser open, as `make lab` opens it. For each notebook:
- Run All from cleared outputs: no cell fails outside those tagged raises-exception, every Mermaid
  diagram renders, and show() renders its HTML (a screenshot of each goes to screenshots/);
- every diagram's text is at least 11 px on screen: a wide diagram is shrunk to the notebook's width;
- no code cell's editor needs horizontal scrolling, which would hide line endings such as `timeout=5`
  (binder/overrides.json turns on line wrapping for code cells: the lab here reads that very file).
Then the text of show() and show_jwt() has a contrast of at least 4.5:1 (WCAG AA) in the light and
the dark theme, both in outputs as committed (untrusted, so JupyterLab sanitizes their styles) and
after a run.

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
from notebook_runner import execute

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
MIN_TEXT_PX = 11  # issue 14: smaller diagram text is hard to read on a laptop or a projector
MIN_CONTRAST = 4.5  # WCAG 2.2 success criterion 1.4.3 (AA) for text below 18.66 px bold
THEMES = ("JupyterLab Light", "JupyterLab Dark")
CONTRAST_NOTEBOOK = "show-contrast.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port, serving throw-away copies of the notebooks."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    write_contrast_notebook(root / "notebooks" / CONTRAST_NOTEBOOK)
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Render every cell, not only those in view, so that every output can be checked.
    # Start the notebook's own kernel without asking (a "Select Kernel" dialog would block the run).
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none",
                                                                      "autoStartDefaultKernel": True}))
    # The settings every learner gets: `make lab` and Binder's postBuild copy this file into the environment.
    app_settings = root / "app-settings"
    app_settings.mkdir()
    shutil.copy(ROOT / "binder" / "overrides.json", app_settings / "overrides.json")
    port, token = free_port(), os.urandom(12).hex()
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
               f"--LabApp.app_settings_dir={app_settings}"]
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


@pytest.fixture(scope="module")
def page(browser, lab):
    """One JupyterLab page for every notebook: loading the app once saves seconds per notebook."""
    base, token, _ = lab
    page = browser.new_page(viewport=LAPTOP)
    page.goto(f"{base}/lab/tree/notebooks?reset&token={token}")
    page.locator(".jp-DirListing-item").first.wait_for(timeout=60_000)
    assert page.locator("#filebrowser").is_visible(), "the file browser should be open, as a learner has it"
    yield page
    page.close()


def expected(path: Path) -> tuple[int, int]:
    """(Mermaid diagrams, cells whose show() output is committed) in a notebook."""
    notebook = nbformat.read(path, as_version=4)
    diagrams = len(diagram_sources(notebook))
    shows = sum(1 for cell in notebook.cells if cell.cell_type == "code"
                for output in cell.get("outputs", [])
                if 'class="helpers-show"' in "".join(output.get("data", {}).get("text/html", "")))
    return diagrams, shows


def diagram_sources(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, diagram source) of every ```mermaid block, in order."""
    return [(index, block.split("```")[0].strip())
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
            for block in cell.source.split("```mermaid")[1:]]


def open_notebook(page, name: str):
    """Open (or bring forward) a notebook from the file browser; return its panel once its kernel is idle."""
    page.locator(".jp-DirListing-item").filter(has_text=name).dblclick()
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").filter(has_text=name).wait_for(timeout=30_000)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=60_000)  # kernel connected
    assert page.locator(".jp-Dialog").count() == 0, "a dialog blocks the notebook"
    return panel


def run_all(page, panel) -> None:
    """Clear every output, Run All, and wait until every code cell has run."""
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_text("Clear Outputs of All Cells", exact=True).click()
    assert panel.locator(".jp-OutputArea-output").count() == 0
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=90_000)
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(page, path):
    panel = open_notebook(page, path.name)
    run_all(page, panel)
    code_cells = panel.locator(".jp-CodeCell")
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


# Each rendered diagram: Mermaid draws an SVG in user units (its viewBox) with text at a font size in
# those units; JupyterLab shows it as an <img>, shrunk to the cell's width when it is wider (821 px here),
# so the text on screen is font size x rendered width / viewBox width.
DIAGRAM_TEXT = """panel => [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, index) =>
    [...cell.querySelectorAll('.jp-RenderedMermaid img')].map(img => {
        const svg = decodeURIComponent(img.src.slice(img.src.indexOf(',') + 1));
        const root = new DOMParser().parseFromString(svg, 'image/svg+xml').documentElement;
        const viewBoxWidth = Number(root.getAttribute('viewBox').trim().split(/[\\s,]+/)[2]);
        const sizes = [...svg.matchAll(/font-size\\s*[:=]\\s*"?([\\d.]+)/g)].map(match => Number(match[1]));
        return {cell: index, loaded: img.complete, rendered: img.getBoundingClientRect().width, viewBoxWidth,
                font: Math.min(...sizes)};
    }))"""


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_diagram_text_is_readable_on_a_laptop(page, path):
    sources = diagram_sources(nbformat.read(path, as_version=4))
    panel = open_notebook(page, path.name)
    if sources:
        panel.locator(".jp-RenderedMermaid img").nth(len(sources) - 1).wait_for(timeout=30_000)
    page.wait_for_function("[...document.querySelectorAll('.jp-RenderedMermaid img')].every(img => img.complete)")
    measured = panel.evaluate(DIAGRAM_TEXT)
    assert [m["cell"] for m in measured] == [index for index, _ in sources]
    small = []
    for m, (index, source) in zip(measured, sources):
        assert m["loaded"] and m["rendered"] > 0 and m["viewBoxWidth"] > 0 and 0 < m["font"] < 100, m
        text_px = m["font"] * m["rendered"] / m["viewBoxWidth"]
        if text_px < MIN_TEXT_PX:
            first_lines = " | ".join(line.strip() for line in source.splitlines()[:2])
            small.append(f"cell {index} ({first_lines}): text {text_px:.1f} px, the SVG is {m['viewBoxWidth']:.0f} "
                         f"units wide for {m['rendered']:.0f} px (at most "
                         f"{m['font'] * m['rendered'] / MIN_TEXT_PX:.0f} reads at {MIN_TEXT_PX} px)")
    assert not small, (f"diagrams whose text is below {MIN_TEXT_PX} px at 1280x800 with the file browser open "
                       "(shorten labels or split the diagram):\n" + "\n".join(small))


# Each code cell's editor: CodeMirror scrolls sideways inside .cm-scroller when a line is too long. It draws
# only the lines near the screen, and draws more a few frames after a scroll. So a cell with lines not drawn
# is scrolled into view, then on by half a screen whenever no new line has appeared for five frames, and
# measured at every frame; `lines` counts the lines drawn at some point (by their offsets in the editor).
EDITOR_OVERFLOW = """async (panel, sourceLines) => {
    const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
    const outer = panel.querySelector('.jp-WindowedPanel-outer');
    const out = [];
    const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
    for (const [index, cell] of cells.entries()) {
        if (!cell.classList.contains('jp-CodeCell')) continue;
        const scroller = cell.querySelector('.jp-InputArea-editor .cm-scroller');
        const expected = sourceLines[index];
        let tops = new Set(), scrollWidth = 0;
        const measure = () => {
            scroller.querySelectorAll('.cm-line').forEach(line => tops.add(line.offsetTop));
            scrollWidth = Math.max(scrollWidth, scroller.scrollWidth);
        };
        measure();
        if (tops.size < expected) {
            tops = new Set();  // offsets of lines drawn off screen may be estimates
            scroller.scrollIntoView({block: 'start'});
            for (let step = 0, quiet = 0; step < 400 && quiet < 20 && tops.size < expected; step++) {
                await frame();
                const before = tops.size;
                measure();
                quiet = tops.size > before ? 0 : quiet + 1;
                if (quiet === 5 && scroller.getBoundingClientRect().bottom > outer.getBoundingClientRect().bottom) {
                    outer.scrollTop += outer.clientHeight / 2;
                    quiet = 0;
                }
            }
        }
        out.push({cell: index, scrollWidth, clientWidth: scroller.clientWidth, lines: tops.size});
    }
    return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_cells_fit_without_scrolling_sideways(page, path):
    notebook = nbformat.read(path, as_version=4)
    panel = open_notebook(page, path.name)
    source_lines = {str(i): len(cell.source.split("\n")) for i, cell in enumerate(notebook.cells)}
    editors = panel.evaluate(EDITOR_OVERFLOW, source_lines)
    assert [e["cell"] for e in editors] == [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    assert all(e["clientWidth"] > 0 for e in editors), "every editor should be laid out"
    # A line CodeMirror has not drawn could not be measured.
    undrawn = [f"cell {e['cell']}: {e['lines']} of {source_lines[str(e['cell'])]} lines drawn"
               for e in editors if e["lines"] != source_lines[str(e["cell"])]]
    assert not undrawn, undrawn
    cut = [f"cell {e['cell']}: {notebook.cells[e['cell']].source.splitlines()[0][:60]!r} is "
           f"{e['scrollWidth']} px wide in {e['clientWidth']} px" for e in editors if e["scrollWidth"] > e["clientWidth"]]
    assert not cut, (f"{len(cut)} code cells need horizontal scrolling at 1280x800 with the file browser open:\n"
                     + "\n".join(cut))


def write_contrast_notebook(path: Path) -> None:
    """A notebook that shows every colour show() and show_jwt() use, with outputs from a real run."""
    setup = '''import jwt
import requests
from helpers import show, show_jwt


def reply(status: int, reason: str, history=()) -> requests.Response:
    """A response as requests builds it, with no server: show() only reads it."""
    response = requests.Response()
    response.status_code, response.reason = status, reason
    response.headers["Content-Type"] = "application/json"
    response._content = b'{"access_token": "abc", "note": "hello"}'
    response.request = requests.Request("GET", "https://api.example.test/me",
                                        headers={"Authorization": "Bearer abc"}).prepare()
    response.history = list(history)
    return response


KEY = "k" * 32
TOKEN = jwt.encode({"sub": "ada", "iat": 1_800_000_000}, KEY, algorithm="HS256")'''
    cells = [setup,
             'show(reply(200, "OK", history=[reply(302, "Found")]))',
             'show(reply(101, "Switching Protocols"))',
             'show(reply(401, "Unauthorized"))',
             'show(reply(503, "Service Unavailable"))',
             "show_jwt(TOKEN)",
             'show_jwt(TOKEN, key=KEY, algorithms=["HS256"])',
             'show_jwt(TOKEN, key="x" * 32, algorithms=["HS256"])']
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    execute(notebook, path.parent)
    nbformat.write(notebook, path)


def set_theme(page, theme: str) -> None:
    """Choose a theme from the Settings menu, as a learner does, and wait until it is drawn."""
    if page.evaluate("document.body.dataset.jpThemeName") == theme:
        return
    page.get_by_role("menuitem", name="Settings", exact=True).click()
    page.get_by_text("Theme", exact=True).click()
    page.get_by_text(theme, exact=True).click()
    page.wait_for_function(f"document.body.dataset.jpThemeName === {json.dumps(theme)}", timeout=30_000)
    dark = "false" if "Dark" in theme else "true"
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{dark}'", timeout=30_000)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)  # shown while the theme loads


# The WCAG 2.2 contrast ratio of every piece of text in show() and show_jwt() output against what is
# behind it: each colour as the browser computed it (read back through a canvas, whatever its CSS
# syntax), and the background composited from every ancestor's background colour.
TEXT_CONTRAST = """panel => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const context = canvas.getContext('2d', {willReadFrequently: true});
    const rgba = css => {
        context.clearRect(0, 0, 1, 1);
        context.fillStyle = 'rgba(0, 0, 0, 0)';
        context.fillStyle = css;
        context.fillRect(0, 0, 1, 1);
        const [r, g, b, a] = context.getImageData(0, 0, 1, 1).data;
        return [r, g, b, a / 255];
    };
    const over = ([r, g, b, a], below) => [r, g, b].map((c, i) => c * a + below[i] * (1 - a));
    const luminance = rgb => {
        const [r, g, b] = rgb.map(c => c / 255).map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const out = [];
    for (const root of panel.querySelectorAll('.helpers-show, .helpers-show-jwt')) {
        for (const element of [root, ...root.querySelectorAll('*')]) {
            const text = [...element.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
                .map(n => n.textContent).join('').trim();
            if (!text) continue;
            const chain = [];
            for (let node = element; node; node = node.parentElement) chain.unshift(node);
            const background = chain.reduce(
                (below, node) => over(rgba(getComputedStyle(node).backgroundColor), below), [255, 255, 255]);
            const colour = over(rgba(getComputedStyle(element).color), background);
            const [light, dark] = [luminance(colour), luminance(background)].sort((a, b) => b - a);
            out.push({text: text.slice(0, 40), tag: element.tagName.toLowerCase(),
                      ratio: (light + 0.05) / (dark + 0.05)});
        }
    }
    return out;
}"""


@pytest.mark.browser
def test_show_text_contrast_in_both_themes(page):
    panel = open_notebook(page, CONTRAST_NOTEBOOK)
    low, lowest, ran = [], {}, False
    # Light, then dark as committed; Run All in the dark theme, then back to light: two theme changes.
    steps = [("as committed (untrusted)", THEMES[0]), ("as committed (untrusted)", THEMES[1]),
             ("after Run All", THEMES[1]), ("after Run All", THEMES[0])]
    try:
        for state, theme in steps:
            set_theme(page, theme)
            if state == "after Run All" and not ran:
                run_all(page, panel)
                ran = True
            panel.locator(".helpers-show-jwt").nth(2).wait_for(timeout=30_000)
            texts = panel.evaluate(TEXT_CONTRAST)
            titles = [t for t in texts if t["text"] in ("Request", "Response")]
            assert len(titles) == 10, texts  # 5 requests and 5 responses (one redirect)
            assert len(texts) > 40, texts
            lowest[state, theme] = (min(t["ratio"] for t in titles), min(t["ratio"] for t in texts if t not in titles))
            low += [f"{state}, {theme}: <{t['tag']}> {t['text']!r} {t['ratio']:.2f}:1"
                    for t in texts if t["ratio"] < MIN_CONTRAST]
            SCREENSHOTS.mkdir(exist_ok=True)
            name = f"show-{'committed' if 'untrusted' in state else 'run'}-{theme.split()[-1].lower()}.png"
            page.screenshot(path=str(SCREENSHOTS / name))
    finally:
        set_theme(page, THEMES[0])
    for (state, theme), (titles, rest) in lowest.items():
        print(f"lowest contrast, {state}, {theme}: titles {titles:.2f}:1, other text {rest:.2f}:1")
    assert not low, f"text below {MIN_CONTRAST}:1 in show()/show_jwt():\n" + "\n".join(low)
