# The two commands a newcomer needs: `make lab` and `make test`.
# Each creates .venv with python3 when it is missing and installs the project into it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Exact versions and PyPI's hashes of everything make lab and make test install, for Python 3.10 and up
# (tools/lock.py writes it with uv; `make lock` after editing pyproject.toml's dependencies).
LOCK := requirements/lock.txt
# pyproject.toml's extras, all locked and installed (tests/test_lock.py keeps this list in step).
EXTRAS := lab,test,tools,site
LOCK_VENV := .venv-lock
# Prefer this environment's kernel over any "python3" kernel in the user's home.
export JUPYTER_PREFER_ENV_PATH := 1
# Jupyter refuses to run as root unless told; containers and CI machines run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
LAB_ARGS ?=
PYTEST_NOTEBOOKS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

.PHONY: lab workshop check test test-pythons lock lock-tool upgrade test-latest bytecode test-browser test-robustness test-site site fuzz screenshot refresh bench learner-copies cheatsheet install clean

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.default_url=/lab/tree/notebooks/00-start-here.ipynb $(ROOT_FLAG) $(LAB_ARGS)

# In a workshop: the same, opened on the learner copies (no solutions), as Binder and nbgitpuller open them.
workshop: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.default_url=/lab/tree/learner-copies/00-start-here.ipynb $(ROOT_FLAG) $(LAB_ARGS)

# The day before a workshop: a ✓ or ✗ line for each thing the notebooks need, with the fix under each ✗.
check: $(STAMP)
	@$(PY) -m helpers.environment

test: bytecode
	$(PY) -m pytest -n 2 --dist loadfile -m "not browser and not robustness and not site" $(PYTEST_NOTEBOOKS)

# The whole `make test` once per Python the README promises, the oldest and the newest here, each in a venv of
# its own (.venv-3.10, ...), so that a message or behaviour that changed between versions fails here, not on a
# learner's laptop.
# pyenv's shims answer only for the selected versions, so look in pyenv's own folders first.
TEST_PYTHONS ?= $(shell for v in 3.10 3.13; do p=$$(ls -d $$HOME/.pyenv/versions/$$v.*/bin/python$$v 2>/dev/null | tail -n 1); echo $${p:-python$$v}; done)
test-pythons:
	@for python in $(TEST_PYTHONS); do \
	    $$python -c '' 2>/dev/null || { echo "$$python does not run: install it (pyenv install), or set TEST_PYTHONS"; exit 1; }; \
	    version=$$($$python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	    echo "== make test with Python $$version"; \
	    $(MAKE) --no-print-directory test PYTHON=$$python VENV=.venv-$$version || exit 1; \
	done

# Every notebook in JupyterLab in headless Chromium (apt-get install -y chromium); screenshots in screenshots/.
test-browser: $(STAMP)
	$(PY) -m pytest -m browser tests/test_browser.py tests/test_instructor_guide.py

# The website, from the committed notebooks and outputs (never executed), into _site/ (git-ignored).
# Sphinx and its extensions come from the lock (pyproject's `site` extra); the Mermaid it ships, from site/package.json (npm).
SITE_STAMP := $(VENV)/.installed-site
site: $(SITE_STAMP)
	$(PY) tools/website.py

# The built site served on loopback, every page in headless Chromium: diagrams, show() styles, links,
# no console errors, no request beyond loopback; screenshots in screenshots/site/.
test-site: $(SITE_STAMP)
	$(PY) -m pytest -m site tests/test_site.py

# Sphinx and its extensions are in the lock (the `site` extra), so $(STAMP) installed them; this adds Mermaid.
$(SITE_STAMP): $(STAMP) site/package-lock.json
	cd site && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(SITE_STAMP)

# Each notebook twice in one kernel, and the notebook tests with only loopback (unshare -n).
test-robustness: bytecode
	$(PY) -m pytest -n 2 --dist loadfile -m robustness tests/test_robustness.py

# The practice API under 2,000 malformed requests per endpoint family (make test runs a fast profile).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest tests/test_fuzz.py

# The README's screenshot, taken by the browser test, not by hand.
screenshot: test-browser
	mkdir -p docs && cp screenshots/01-basic-auth.png docs/screenshot.png

# Re-execute every notebook in place from a clean kernel, so committed outputs come from a real run.
refresh: $(STAMP)
	$(PY) tools/navigation.py
	$(PY) tools/refresh_notebooks.py notebooks/*.ipynb
	$(PY) tools/learner_copies.py
	$(PY) tools/cheatsheet.py

# Workshop copies without solutions or outputs, in learner-copies/ (committed: Binder and nbgitpuller open them;
# a test fails while they are out of date). `make refresh` writes them too.
learner-copies: $(STAMP)
	$(PY) tools/learner_copies.py

# The one-page cheat sheet from every notebook's Key points (instructors/cheatsheet.md and .html).
cheatsheet: $(STAMP)
	$(PY) tools/cheatsheet.py

bench: bytecode
	$(PY) tools/bench.py

install: $(STAMP)

# Each notebook's kernel imports helpers/ from source. Where PYTHONDONTWRITEBYTECODE is set, as on
# many CI machines, every kernel would compile it again (about 70 ms); compile it once here instead.
bytecode: $(STAMP)
	$(PY) -m compileall -q helpers

# Reinstall only when the project's dependencies or settings change. A .venv kept from an older Python,
# or without pip, gets the fix (make clean) instead of a pip error. pip runs with --quiet, so the
# lines around it say what is happening: a silent minute looks like a hang to a newcomer.
$(STAMP): pyproject.toml $(LOCK) binder/overrides.json
	@test -x $(PY) || { echo "Creating $(VENV), this project's own Python environment, with $(PYTHON)..."; \
	    $(PYTHON) -m venv $(VENV); }
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1 || { \
	    echo "$(VENV) runs $$($(PY) --version 2>&1 || echo 'no Python'), and the notebooks need Python 3.10 or newer:"; \
	    echo "run \`make clean\`, then \`make lab PYTHON=python3.12\` (or any python3.10 or newer)."; exit 1; }
	@$(PY) -m pip --version >/dev/null 2>&1 || { \
	    echo "$(VENV) has no pip (made with --without-pip, or pip was removed): run \`make clean\`, then \`make lab\`."; \
	    exit 1; }
	@echo "Installing JupyterLab, requests and the other packages into $(VENV): a minute or two the first time"
	@echo "(longer on a slow network), at the versions $(LOCK) pins, and pip prints nothing until it is done."
	@started=$$(date +%s); \
	    $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK) && \
	    $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . && \
	    mkdir -p $(VENV)/share/jupyter/lab/settings && \
	    cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json && \
	    touch $(STAMP) && \
	    echo "Installed in $$(( $$(date +%s) - started )) s. Later runs skip this step until $(LOCK) changes."

# The lock from pyproject.toml, keeping each pin that still fits (`make upgrade` takes the newest). uv runs
# from $(LOCK_VENV), at the version and hashes requirements/lock-tool.txt pins.
lock: $(LOCK_VENV)/.installed
	$(LOCK_VENV)/bin/python tools/lock.py --uv $(LOCK_VENV)/bin/uv

$(LOCK_VENV)/.installed: requirements/lock-tool.txt
	@test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
	    -r requirements/lock-tool.txt
	touch $@

# uv itself to its newest release (requirements/lock-tool.in names it).
lock-tool: $(LOCK_VENV)/.installed
	$(LOCK_VENV)/bin/python tools/lock.py --uv $(LOCK_VENV)/bin/uv --tool --upgrade

# Every package to its newest release, every notebook re-run, and what that changed in their outputs:
# review it as any upstream change, then commit the lock with the notebooks.
upgrade: $(LOCK_VENV)/.installed
	$(LOCK_VENV)/bin/python tools/lock.py --uv $(LOCK_VENV)/bin/uv --upgrade
	$(MAKE) --no-print-directory refresh
	@git diff --stat -- $(LOCK) notebooks learner-copies instructors
	$(PY) tools/output_changes.py

# The suite against the newest releases, unpinned, in a throw-away venv: what the next `make upgrade`
# will have to deal with. Run it before a workshop and monthly. Not in CI (.ci/run): its result depends
# on the day's releases, not on the change under test, and the lock is what CI, learners and Binder run.
# The tests that run `make` (check, lab) get VENV= the throw-away venv, marked installed, so they test it too.
test-latest:
	@set -e; latest=$$(mktemp -d); trap 'rm -rf "$$latest"' EXIT; \
	    $(PYTHON) -m venv "$$latest/venv"; \
	    echo "Installing the newest release of every dependency into a throw-away venv..."; \
	    "$$latest/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -e ".[$(EXTRAS)]"; \
	    "$$latest/venv/bin/python" -m pip freeze --exclude-editable > "$$latest/freeze.txt"; \
	    "$$latest/venv/bin/python" tools/lock.py --compare "$$latest/freeze.txt"; \
	    "$$latest/venv/bin/python" -m compileall -q helpers; \
	    mkdir -p "$$latest/venv/share/jupyter/lab/settings"; \
	    cp binder/overrides.json "$$latest/venv/share/jupyter/lab/settings/overrides.json"; \
	    touch "$$latest/venv/.installed"; \
	    status=0; VENV="$$latest/venv" HTTP_API_AUTH_LOCK="$$latest/freeze.txt" "$$latest/venv/bin/python" -m pytest -n 2 \
	        --dist loadfile -m "not browser and not robustness" $(PYTEST_NOTEBOOKS) $(LATEST_ARGS) || status=$$?; \
	    if [ $$status = 0 ]; then echo "test-latest: the suite passes with the newest releases."; \
	    else echo "test-latest: the suite FAILS with the newest releases (the tests above); $(LOCK) still holds."; fi; \
	    exit $$status

clean:
	rm -rf $(VENV)
