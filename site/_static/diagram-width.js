// Mermaid gives each diagram's <svg> a max-width of its natural width; the width JupyterLab shows.
// This keeps that width (never more than the text's) once sphinxcontrib-mermaid has drawn it.
new MutationObserver(() => {
  for (const svg of document.querySelectorAll("pre.mermaid > svg:not([data-site-width])")) {
    const natural = parseFloat(svg.style.maxWidth);
    if (natural > 0) svg.style.setProperty("--site-diagram-width", `${natural}px`);
    svg.dataset.siteWidth = natural > 0 ? String(natural) : "auto";
  }
}).observe(document.documentElement, {childList: true, subtree: true});
