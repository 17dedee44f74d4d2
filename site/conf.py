"""Sphinx settings for the series' website; tools/website.py stages the pages beside this file and builds."""
project = "HTTP API authentication with Python requests"
author = "The tutorial's authors"
copyright = "the tutorial's authors, MIT licence"
root_doc = "index"
extensions = ["myst_nb", "sphinxcontrib.mermaid"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_extra_path = ["_downloads_ipynb"]  # the committed .ipynb files, for each page's download link
html_css_files = ["site.css"]
html_js_files = ["diagram-width.js"]
html_favicon = "_static/favicon.svg"  # a padlock; without one every page asks for /favicon.ico
html_title = "HTTP API authentication with Python requests"
html_show_sourcelink = False
html_use_index = False  # no index entries in the notebooks: an empty page
html_copy_source = False

# Never execute: the committed outputs are the ones nbval tested.
nb_execution_mode = "off"
nb_output_stderr = "show"
nb_merge_streams = True
# The HTML that show() and show_jwt() return is the first choice, as in JupyterLab.
nb_mime_priority_overrides = [("html", "text/html", 0)]
myst_enable_extensions = ["html_image", "colon_fence"]
myst_heading_anchors = 4
myst_fence_as_directive = ["mermaid"]

# Mermaid from site/node_modules (site/package.json pins the version JupyterLab 4.6 ships), never a CDN.
mermaid_use_local = "mermaid/mermaid.esm.min.mjs"
mermaid_version = ""
mermaid_height = "auto"
mermaid_fullscreen = False
mermaid_d3_zoom = False
mermaid_include_elk = False
mermaid_include_zenuml = False

html_theme = "pydata_sphinx_theme"
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": True,
    "article_header_end": ["launch-buttons"],
    # The page's own headings go in the left sidebar, under the series: without a right-hand column a
    # diagram has the width it has in JupyterLab, and its text stays readable (tests/test_site.py).
    "secondary_sidebar_items": [],
    "footer_start": ["copyright"],
    "footer_end": [],
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_center": [],
    "navbar_end": ["search-button-field", "theme-switcher"],
    "navbar_persistent": [],
}
html_sidebars = {"**": ["site-nav", "page-toc"]}  # every page of the series, then this page's headings
html_context = {"default_mode": "light"}
