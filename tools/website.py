"""Build the series' website (`make site`): every notebook as a page, from its committed outputs.

Sphinx with myst-nb reads the notebooks without executing them (the outputs are the tested ones),
sphinxcontrib-mermaid draws each ```mermaid block in the browser with the Mermaid that site/package.json
pins (vendored by `npm ci`, so nothing is fetched when the site is viewed), and the PyData theme gives the
table of contents, previous/next links and an offline search.

The pages are staged first in build/site/src/, so that the repository stays as readers of GitHub see it:
- the home page is README.md; the instructor guide, the cheat sheet and the practice API's reading guide
  (the README's section) are pages too;
- every notebooks/[0-9][0-9]-*.ipynb is a page (a glob: a new notebook needs no edit here);
- a relative link to a file that is not a page (helpers/practice_api/app.py, learner-copies/) points at
  that file on GitHub, and JupyterLab's heading anchors (#The-map) become Sphinx's (#the-map).

    python tools/website.py [--out _site]
"""
from __future__ import annotations

import argparse
import posixpath
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
BUILD = ROOT / "build" / "site"  # git-ignored: the staged pages, Sphinx's caches, myst-nb's jupyter_execute/
STAGE = BUILD / "src"
OUT = ROOT / "_site"
REPO_URL = "https://github.com/http-api-auth/python-requests-auth-tutorial"
NOTEBOOK_GLOB = "notebooks/[0-9][0-9]-*.ipynb"
PRACTICE_API_HEADING = "## The practice API"
MERMAID_DIST = SITE / "node_modules" / "mermaid" / "dist"

# The README's Binder badges are images on mybinder.org: the site shows its own copy, since a page that
# loaded them would ask an outside host for each one.
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
# Markdown links and images: [text](target) and ![alt](target), with no space in the target.
LINK = re.compile(r"(!?\[[^\][]*\]\()([^)\s]+)(\))")


def notebooks() -> list[Path]:
    """Every notebook of the series, in order."""
    return sorted(ROOT.glob(NOTEBOOK_GLOB))


def pages() -> dict[str, str]:
    """{repository path: staged path} of every page but the notebooks."""
    return {"README.md": "index.md", "instructors/README.md": "instructors/README.md",
            "instructors/cheatsheet.md": "instructors/cheatsheet.md"}


def jupyterlab_slug(anchor: str) -> str:
    """JupyterLab's heading anchor (the heading's text, spaces as '-') as the id MyST gives that heading.

    MyST's slug (mdit_py_plugins.anchors) lower-cases the text, turns spaces into '-' and drops every
    other character that is neither a word character nor '-': the same steps from JupyterLab's anchor.
    """
    return re.sub(r"[^\w\-]", "", anchor.lower())


def binder_url() -> str:
    """The README's Binder link, without its labpath: each notebook's page adds its own."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"https://mybinder\.org/v2/gh/[^?)\s]+", readme).group(0)


def rewrite_links(text: str, source: str, staged: set[str]) -> str:
    """Point each relative link of `text` (from repository file `source`) at a page or at GitHub."""
    base = posixpath.dirname(source)

    def one(match: re.Match) -> str:
        opening, target, closing = match.groups()
        if target == BINDER_BADGE and opening.startswith("!"):
            return f"{opening}{'../' * source.count('/')}_static/binder-badge.svg{closing}"
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            return match.group(0)  # https:, mailto:
        path, _, anchor = target.partition("#")
        if not path:
            return f"{opening}#{jupyterlab_slug(anchor)}{closing}" if anchor else match.group(0)
        resolved = posixpath.normpath(posixpath.join(base, path))
        if resolved in staged or opening.startswith("!"):
            fragment = f"#{jupyterlab_slug(anchor)}" if anchor else ""
            return f"{opening}{path}{fragment}{closing}"
        kind = "tree" if path.endswith("/") or (ROOT / resolved).is_dir() else "blob"
        fragment = f"#{anchor}" if anchor else ""
        return f"{opening}{REPO_URL}/{kind}/main/{resolved}{fragment}{closing}"

    return LINK.sub(one, text)


def practice_api_page(readme: str) -> str:
    """The README's section on the practice API (up to the next ## heading) as a page of its own."""
    start = readme.index(PRACTICE_API_HEADING)
    end = readme.find("\n## ", start + 1)
    section = readme[start:end if end > 0 else None]
    body = section[len(PRACTICE_API_HEADING):].replace("\n### ", "\n## ")  # one level up, under the title
    return "# The practice API: a reading guide\n" + body


def stage() -> Path:
    """Write build/site/src/: the pages, the notebooks and the site's own files."""
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(parents=True)
    books = notebooks()
    staged = {path for path in pages()} | {p.relative_to(ROOT).as_posix() for p in books}
    staged.add("practice-api.md")
    for source, target in pages().items():
        text = rewrite_links((ROOT / source).read_text(encoding="utf-8"), source, staged)
        (STAGE / target).parent.mkdir(parents=True, exist_ok=True)
        (STAGE / target).write_text(text, encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (STAGE / "practice-api.md").write_text(rewrite_links(practice_api_page(readme), "README.md", staged),
                                           encoding="utf-8")
    for image in {m.group(2) for m in LINK.finditer(readme) if m.group(1).startswith("!")
                  and not re.match(r"[a-z]+:", m.group(2))}:
        (STAGE / image).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / image, STAGE / image)
    (STAGE / "notebooks").mkdir()
    for path in books:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, f"notebooks/{path.name}", staged)
        nbformat.write(notebook, STAGE / "notebooks" / path.name)
    shutil.copy(SITE / "conf.py", STAGE / "conf.py")
    shutil.copytree(SITE / "_static", STAGE / "_static")
    shutil.copytree(SITE / "_templates", STAGE / "_templates")
    vendor_mermaid(STAGE / "_static" / "mermaid")
    downloads = STAGE / "_downloads_ipynb" / "notebooks"
    downloads.mkdir(parents=True)
    for path in books:
        shutil.copy(path, downloads / path.name)  # as committed, for the download link
    entries = [f"notebooks/{p.stem}" for p in books] + ["instructors/README", "instructors/cheatsheet",
                                                        "practice-api"]
    with (STAGE / "index.md").open("a", encoding="utf-8") as index:
        index.write("\n```{toctree}\n:hidden:\n:maxdepth: 2\n\n" + "\n".join(entries) + "\n```\n")
    return STAGE


def vendor_mermaid(target: Path) -> None:
    """Copy the pinned Mermaid (ES module and its chunks) into the site: `npm ci` in site/ fetches it once."""
    if not (MERMAID_DIST / "mermaid.esm.min.mjs").exists():
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=SITE, check=True)
    target.mkdir(parents=True)
    shutil.copy(MERMAID_DIST / "mermaid.esm.min.mjs", target)
    shutil.copytree(MERMAID_DIST / "chunks" / "mermaid.esm.min", target / "chunks" / "mermaid.esm.min")
    shutil.copy(SITE / "node_modules" / "mermaid" / "LICENSE", target / "LICENSE")


def build(out: Path) -> None:
    started = time.monotonic()
    source = stage()
    html = BUILD / "html"
    shutil.rmtree(html, ignore_errors=True)
    # -W: a warning (a link to no page, a heading level skipped) fails the build.
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-j", "2",
                    "-A", f"binder_url={binder_url()}", "-d", str(BUILD / "doctrees"), str(source), str(html)],
                   check=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(html, out)
    (out / ".nojekyll").touch()  # GitHub Pages: serve _static/ as it is
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"Site built in {time.monotonic() - started:.1f} s: {out.relative_to(ROOT)}/index.html "
          f"({size / 1e6:.1f} MB, {len(notebooks())} notebooks)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    build(parser.parse_args(argv).out.resolve())


if __name__ == "__main__":
    main()
