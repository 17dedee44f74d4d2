"""The website (`make site`), built from the committed notebooks, and read in a real browser (`make test-site`).

First the build itself: every notebook in the glob is a page, its download is the committed file, its
Binder button is the README's link with its labpath, solutions stay folded, and no built file makes the
browser fetch anything from outside (plain <a href> links to the references are fine: a reader clicks them,
the page does not load them).

Then the site is served on loopback under /python-requests-auth-tutorial/, the path GitHub Pages serves it
at (so a link that starts with / would break here as there), and every page is opened in headless Chromium
with every request to another host blocked and counted. For each page: its Mermaid diagrams drawn as SVG,
as many as its source has; each show() and show_jwt() output present and styled with JupyterLab's theme
colours (computed styles, not only the class); no console error and no failed request; no outside request;
every internal link and anchor resolves; a screenshot in screenshots/site/ (git-ignored).

Marked `site`: `make test` leaves it out, `make test-site` (and so CI) runs it. It needs the `site` extra,
npm and Debian's Chromium, and fails, never skips, without them.
"""
from __future__ import annotations

import functools
import html
import html.parser
import http.server
import re
import resource
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import nbformat
import pytest
import requests

import website
from conftest import ROOT
from test_browser import CHROMIUM, FLAGS, LAPTOP, MIN_CONTRAST, MIN_TEXT_PX, TEXT_CONTRAST

pytestmark = pytest.mark.site

SITE = ROOT / "_site"
SCREENSHOTS = ROOT / "screenshots" / "site"
PREFIX = "/python-requests-auth-tutorial/"  # https://http-api-auth.github.io/python-requests-auth-tutorial/
MAX_BUILD_SECONDS = 60
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# -- the build --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built() -> float:
    """Build the site into _site/ as `make site` does; return the CPU seconds it took.

    CPU time, not wall time: on a machine that other jobs share, the wall clock measures them too. A build
    that needs under 60 CPU seconds takes under 60 s on 2 free cores (about 5 s on a quiet machine here).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(ROOT / "tools" / "website.py"), "--out", str(SITE)], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def source_counts(text_cells: list[str], outputs: list[str]) -> dict[str, int]:
    """What a page must show: its diagrams, show() and show_jwt() outputs, and <details> blocks."""
    markdown = "\n".join(text_cells)
    html_out = "\n".join(outputs)
    return {"diagrams": markdown.count("```mermaid"), "details": len(re.findall(r"<details\b", markdown)),
            "show": html_out.count('class="helpers-show"'), "show_jwt": html_out.count('class="helpers-show-jwt"')}


def notebook_counts(path: Path) -> dict[str, int]:
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    outputs = ["".join(output.get("data", {}).get("text/html", ""))
               for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    return source_counts(markdown, outputs)


def expected_pages() -> dict[str, dict[str, int]]:
    """{page path in the site: what it must show}, for every page a reader can reach from the menu."""
    pages = {f"notebooks/{path.stem}.html": notebook_counts(path) for path in website.notebooks()}
    for source, staged in website.pages().items():
        text = (ROOT / source).read_text(encoding="utf-8")
        pages[staged.replace(".md", ".html")] = source_counts([text], [])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages["practice-api.html"] = source_counts([website.practice_api_page(readme)], [])
    pages["search.html"] = source_counts([], [])
    return pages


PAGES = expected_pages()


def test_the_site_builds_in_under_a_minute(built):
    assert built < MAX_BUILD_SECONDS, f"the site took {built:.0f} CPU seconds to build"
    assert (SITE / "index.html").is_file() and (SITE / ".nojekyll").is_file()


def test_every_notebook_in_the_glob_is_a_page_with_its_download(built):
    paths = sorted(ROOT.glob("notebooks/[0-9][0-9]-*.ipynb"))
    assert paths and website.notebooks() == paths
    menu = (SITE / "index.html").read_text(encoding="utf-8")
    for path in paths:
        page = SITE / "notebooks" / f"{path.stem}.html"
        assert page.is_file(), f"{path.name} has no page"
        assert f'href="notebooks/{path.stem}.html"' in menu, f"{path.name} is not in the site's menu"
        assert (SITE / "notebooks" / path.name).read_bytes() == path.read_bytes(), "the download is the committed file"


def test_each_notebook_page_launches_binder_with_its_labpath_and_downloads_it(built):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in website.notebooks():
        badge = re.search(r"\(([^)]*labpath=notebooks%2F" + re.escape(path.name) + r")\)", readme)
        assert badge, f"the README has no Binder link for {path.name}"
        page = (SITE / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        assert f'class="site-launch-binder" href="{badge.group(1)}"' in page
        assert f'class="site-launch-download" href="{path.name}" download' in page


def test_pages_show_the_committed_outputs_not_a_new_run(built):
    """A new run would print other times, token ids and ports: every printed line is the committed one."""
    for path in website.notebooks():
        page = html.unescape((SITE / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8"))
        notebook = nbformat.read(path, as_version=4)
        printed = [line for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
                   if output.output_type == "stream" for line in output.text.splitlines() if line.strip()]
        assert printed, f"{path.name} prints nothing"
        # A trailing space is invisible and the page's <pre> drops it: compare what a reader sees.
        missing = [line for line in printed if line.rstrip() not in page]
        assert not missing, f"{path.name}: {missing[:3]}"


def test_home_page_is_the_readme(built):
    home = (SITE / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#{1,3} (.+)$", readme, re.MULTILINE)
    assert len(headings) > 5
    for heading in headings:
        words = re.sub(r"[`*]", "", heading).replace("'", "’").split()
        assert " ".join(words[:3]) in home.replace("\n", " "), f"the home page lacks the README's {heading!r}"


def test_solutions_stay_folded(built):
    for page, counts in PAGES.items():
        text = (SITE / page).read_text(encoding="utf-8")
        details = re.findall(r"<details\b[^>]*>", text)
        assert len(details) == counts["details"], page
        assert not [tag for tag in details if re.search(r"\bopen\b", tag)], f"{page}: a solution is unfolded"


class FetchedReferences(html.parser.HTMLParser):
    """Every URL a browser fetches by itself when it loads an HTML page (never an <a href>, only followed)."""

    ATTRIBUTES = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("iframe", "src"),
                  ("source", "src"), ("source", "srcset"), ("video", "src"), ("video", "poster"),
                  ("audio", "src"), ("embed", "src"), ("object", "data"), ("image", "href"), ("use", "href"),
                  ("input", "src"), ("track", "src")}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in self.ATTRIBUTES and value:
                self.urls += [part.split()[0] for part in value.split(",")] if name == "srcset" else [value]
            if name == "style" and value:
                self.urls += css_urls(value)
        self._in_style = tag == "style"

    def handle_data(self, data):
        if self._in_style:
            self.urls += css_urls(data)

    def handle_endtag(self, tag):
        self._in_style = False


def css_urls(css: str) -> list[str]:
    return (re.findall(r"url\(\s*['\"]?([^'\")\s]+)", css)
            + re.findall(r"@import\s+['\"]([^'\"]+)", css))


def script_urls(js: str) -> list[str]:
    """Modules and scripts a script loads: import ... from "x", import("x"), importScripts("x")."""
    return re.findall(r"""(?:\bfrom\s*|\bimport\s*\(\s*|\bimportScripts\s*\(\s*|\bimport\s+)["'`]([^"'`]+)""", js)


def outside(url: str) -> bool:
    """Whether a URL names a host other than the site's own (relative URLs and data: are the site's)."""
    parts = urlsplit(url)
    return url.startswith("//") or (parts.scheme in ("http", "https", "ws", "wss", "ftp")
                                     and parts.hostname not in LOOPBACK_HOSTS)


def fetched_from_outside(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        parser = FetchedReferences()
        parser.feed(text)
        urls = parser.urls
    elif path.suffix == ".css":
        urls = css_urls(text)
    elif path.suffix in (".js", ".mjs"):
        urls = script_urls(text)
    else:
        urls = []
    return [url for url in urls if outside(url)]


def test_the_reference_check_tells_a_fetch_from_a_link(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<a href="https://www.rfc-editor.org/rfc/rfc7617">RFC 7617</a>'
                    '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
                    '<script src="../_static/local.js"></script><script src="//cdn.example/x.js"></script>'
                    '<div style="background: url(https://img.example/a.png)"></div>', encoding="utf-8")
    assert fetched_from_outside(page) == ["https://fonts.googleapis.com/css?family=Roboto", "//cdn.example/x.js",
                                          "https://img.example/a.png"]
    module = tmp_path / "m.mjs"
    module.write_text('import a from "./chunk.mjs";const x="http://www.w3.org/2000/svg";'
                      'import("https://cdn.jsdelivr.net/npm/mermaid/dist/mermaid.esm.min.mjs")', encoding="utf-8")
    assert fetched_from_outside(module) == ["https://cdn.jsdelivr.net/npm/mermaid/dist/mermaid.esm.min.mjs"]


def test_no_built_file_fetches_from_outside(built):
    found = {path.relative_to(SITE).as_posix(): urls for path in SITE.rglob("*")
             if path.is_file() and (urls := fetched_from_outside(path))}
    assert not found, found


def test_links_to_repository_files_point_at_github_and_jupyterlab_anchors_at_myst_ids():
    staged = {"README.md", "notebooks/01-basic-auth.ipynb"}
    text = ("[map](00-start-here.ipynb#The-map) [01](01-basic-auth.ipynb#4.-Session.auth:-credentials) "
            "[code](../helpers/client/redaction.py) [here](#Exercises) [rfc](https://www.rfc-editor.org/rfc/rfc6750)")
    staged.add("notebooks/00-start-here.ipynb")
    assert website.rewrite_links(text, "notebooks/02-api-keys.ipynb", staged) == (
        "[map](00-start-here.ipynb#the-map) [01](01-basic-auth.ipynb#4-sessionauth-credentials) "
        f"[code]({website.REPO_URL}/blob/main/helpers/client/redaction.py) [here](#exercises) "
        "[rfc](https://www.rfc-editor.org/rfc/rfc6750)")
    assert website.rewrite_links("[copies](learner-copies/)", "README.md", staged) == (
        f"[copies]({website.REPO_URL}/tree/main/learner-copies)")


def test_practice_api_page_is_the_readmes_section():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = website.practice_api_page(readme)
    assert page.startswith("# The practice API")
    assert "helpers/practice_api/app.py" in page and "### " not in page
    assert "## For contributors" not in page


# -- in the browser ---------------------------------------------------------------------------------------

class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """_site/ under PREFIX, as GitHub Pages serves it; anything else is a 404."""

    def translate_path(self, path):
        if not path.startswith(PREFIX):
            return str(SITE / "no such file")
        return super().translate_path("/" + path[len(PREFIX):])

    def log_message(self, *args):  # keep the test's output for failures
        pass


@pytest.fixture(scope="module")
def served(built):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{PREFIX}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "make test-site needs Debian's Chromium: apt-get install -y chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


# What a page shows once drawn: diagrams, show() styles, folded solutions, its ids and its links.
MEASURE = """() => {
    const style = element => getComputedStyle(element);
    // checkVisibility(): false inside a closed <details>, whose content Chromium hides with content-visibility
    const shown = element => element.checkVisibility();
    const shows = [...document.querySelectorAll('.helpers-show')].map(root => {
        const block = root.querySelector(':scope > div');
        const title = block && block.querySelector(':scope > div');
        return {borderWidth: block ? style(block).borderLeftWidth : '', borderStyle: block ? style(block).borderLeftStyle : '',
                borderColour: block ? style(block).borderLeftColor : '', titleColour: title ? style(title).color : '',
                textColour: style(root).color, titleWeight: title ? style(title).fontWeight : '',
                preFont: style(root.querySelector('pre')).fontFamily,
                brand: style(root).getPropertyValue('--jp-brand-color1').trim()};
    });
    const jwts = [...document.querySelectorAll('.helpers-show-jwt')].map(root => ({
        borderWidth: style(root).borderLeftWidth, borderColour: style(root).borderLeftColor,
        textColour: style(root).color}));
    const details = [...document.querySelectorAll('details')].map(d => ({
        open: d.open, summary: !!d.querySelector('summary') && shown(d.querySelector('summary')),
        hidden: [...d.children].filter(c => c.tagName !== 'SUMMARY').every(c => !shown(c))}));
    return {
        diagrams: document.querySelectorAll('pre.mermaid').length,
        svgs: document.querySelectorAll('pre.mermaid > svg').length,
        diagramErrors: document.querySelectorAll('pre.mermaid .error-icon, pre.mermaid .error-text').length,
        // text on screen: the SVG's smallest font size (user units) x rendered width / viewBox width
        diagramTextPx: [...document.querySelectorAll('pre.mermaid > svg')].map(svg => {
            const viewBoxWidth = Number(svg.getAttribute('viewBox').trim().split(/[\\s,]+/)[2]);
            const sizes = [...svg.outerHTML.matchAll(/font-size\\s*[:=]\\s*"?([\\d.]+)/g)].map(m => Number(m[1]));
            return Math.min(...sizes) * svg.getBoundingClientRect().width / viewBoxWidth;
        }),
        shows, jwts, details,
        ids: [...document.querySelectorAll('[id]')].map(e => e.id)
            .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    };
}"""


@pytest.fixture(scope="module")
def visits(browser, served) -> dict[str, dict]:
    """Open every page once; keep what each one showed, asked for and complained about."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for page_path, counts in PAGES.items():
        page = browser.new_page(viewport=LAPTOP)
        outside_requests, errors = [], []

        def route(route, outside_requests=outside_requests):
            if outside(route.request.url):
                outside_requests.append(route.request.url)
                route.abort()
            else:
                route.continue_()

        page.route("**/*", route)
        page.on("console", lambda message, errors=errors: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.on("requestfailed", lambda request, errors=errors: not outside(request.url)
                and errors.append(f"failed: {request.url}"))
        page.on("response", lambda response, errors=errors: response.status >= 400
                and errors.append(f"{response.status}: {response.url}"))
        query = "?q=PKCE" if page_path == "search.html" else ""
        page.goto(served + page_path + query, wait_until="load")
        if counts["diagrams"]:
            page.wait_for_function(f"document.querySelectorAll('pre.mermaid > svg').length >= {counts['diagrams']}",
                                   timeout=30_000)
        if page_path == "search.html":
            page.locator("#search-results li").first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        measured = page.evaluate(MEASURE)
        measured.update(outside=outside_requests, errors=errors, url=page.url)
        if page_path == "search.html":
            measured["hits"] = page.locator("#search-results li").count()
        name = page_path.replace("/", "_").replace(".html", "")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        # show() and show_jwt() text against what is behind it, in the theme's light and dark modes
        measured["contrast"] = {"light": page.evaluate(f"({TEXT_CONTRAST})(document.body)")}
        if counts["show"] or counts["show_jwt"]:
            page.evaluate("localStorage.setItem('mode', 'dark')")  # what the theme switcher stores
            page.reload(wait_until="load")
            page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
            measured["contrast"]["dark"] = page.evaluate(f"({TEXT_CONTRAST})(document.body)")
            page.locator(".helpers-show, .helpers-show-jwt").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"{name}-dark-show.png"))
        page.close()
        results[page_path] = measured
    return results


@pytest.mark.parametrize("page_path", PAGES)
def test_page_fetches_nothing_from_outside_and_logs_no_error(visits, page_path):
    seen = visits[page_path]
    assert seen["outside"] == [], f"{page_path} asked for outside resources"
    assert seen["errors"] == [], f"{page_path}: {seen['errors']}"


@pytest.mark.parametrize("page_path", PAGES)
def test_every_mermaid_diagram_is_drawn_as_svg(visits, page_path):
    seen, wanted = visits[page_path], PAGES[page_path]["diagrams"]
    assert (seen["diagrams"], seen["svgs"], seen["diagramErrors"]) == (wanted, wanted, 0)
    # as readable as in JupyterLab (tests/test_browser.py): a diagram is never shrunk below that
    small = [round(px, 1) for px in seen["diagramTextPx"] if not px >= MIN_TEXT_PX]
    assert not small, f"{page_path}: diagram text of {small} px at {LAPTOP['width']} px wide"


@pytest.mark.parametrize("page_path", PAGES)
def test_show_outputs_are_present_and_styled_as_in_jupyterlab(visits, page_path):
    seen, counts = visits[page_path], PAGES[page_path]
    assert len(seen["shows"]) == counts["show"] and len(seen["jwts"]) == counts["show_jwt"]
    for show in seen["shows"]:
        # the theme's colours as JupyterLab's light theme defines them, so that the title is coloured, not
        # the text's colour (which is what an output whose inline styles were dropped would show)
        assert show["brand"] == "#1976d2", show
        assert (show["borderWidth"], show["borderStyle"]) == ("4px", "solid"), show
        assert show["titleColour"] == show["borderColour"] != show["textColour"], show
        assert int(show["titleWeight"]) >= 700 and "monospace" in show["preFont"], show
    for jwt in seen["jwts"]:
        assert jwt["borderWidth"] == "4px" and jwt["borderColour"] != "rgba(0, 0, 0, 0)", jwt


@pytest.mark.parametrize("page_path", [page for page, counts in PAGES.items() if counts["show"] or counts["show_jwt"]])
def test_show_text_is_readable_in_the_light_and_the_dark_theme(visits, page_path):
    contrast = visits[page_path]["contrast"]
    assert set(contrast) == {"light", "dark"} and all(contrast.values()), contrast.keys()
    low = [f"{mode}: <{t['tag']}> {t['text']!r} {t['ratio']:.2f}:1"
           for mode, texts in contrast.items() for t in texts if not t["ratio"] >= MIN_CONTRAST]
    assert not low, f"text below {MIN_CONTRAST}:1 in show()/show_jwt():\n" + "\n".join(low)


@pytest.mark.parametrize("page_path", PAGES)
def test_solutions_are_folded_in_the_browser(visits, page_path):
    details = visits[page_path]["details"]
    assert len(details) == PAGES[page_path]["details"]
    assert all(d["summary"] and not d["open"] and d["hidden"] for d in details), details


def test_search_works_offline(visits):
    assert visits["search.html"]["hits"] >= 1


def test_every_internal_link_and_anchor_resolves(visits, served):
    ids = {seen["url"].split("?")[0]: set(seen["ids"]) for seen in visits.values()}
    broken, files = [], {}
    for page_path, seen in visits.items():
        for link in seen["links"]:
            if outside(link) or not link.startswith("http"):
                continue
            target, fragment = urldefrag(link)
            target = target.split("?")[0]
            if target.endswith(".html") or target.endswith("/"):
                if target not in ids:
                    broken.append(f"{page_path}: {link} (a page that is not in the menu)")
                elif fragment and fragment not in ids[target]:
                    broken.append(f"{page_path}: {link} (no such anchor)")
            else:
                if target not in files:
                    files[target] = requests.head(target, timeout=5).status_code
                if files[target] != 200:
                    broken.append(f"{page_path}: {link} ({files[target]})")
    assert not broken, "\n".join(broken)
