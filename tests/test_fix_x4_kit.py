"""Review RV4 #7, #9, #10: the instructor's kit (the hub's install, the Binder ref of learner copies)."""
from __future__ import annotations

import re

import learner_copies
from conftest import ROOT

GUIDE = (ROOT / "instructors" / "README.md").read_text(encoding="utf-8")


def binder_links(folder) -> set[str]:
    return {link for path in folder.glob("*.ipynb")
            for link in re.findall(r"https://mybinder\.org/v2/gh/[^)\s\"]+", path.read_text(encoding="utf-8"))}


def test_learner_copies_can_link_binder_to_the_workshop_branch(tmp_path, capsys):
    assert learner_copies.main([str(tmp_path), "--ref", "workshop-2026-12-01"]) == 0
    links = binder_links(tmp_path)
    assert links and all("/python-requests-auth-tutorial/workshop-2026-12-01?labpath=learner-copies%2F" in link
                         for link in links), links


def test_learner_copies_link_binder_to_head_by_default(tmp_path, capsys):
    assert learner_copies.main([str(tmp_path)]) == 0
    links = binder_links(tmp_path)
    assert links and all("/python-requests-auth-tutorial/HEAD?labpath=learner-copies%2F" in link for link in links)


def test_the_guide_tells_instructors_to_write_the_copies_for_the_workshop_branch():
    assert "python tools/learner_copies.py --ref workshop-YYYY-MM-DD" in GUIDE


def test_the_hub_image_installs_the_frozen_branch_not_an_editable_clone():
    step = GUIDE[GUIDE.index("7. **A JupyterHub instead of Binder:**"):GUIDE.index("8. **Learner copies")]
    assert "pip install -e . run in the clone" not in " ".join(step.split())
    assert ("pip install \"git+https://github.com/http-api-auth/python-requests-auth-tutorial@workshop-YYYY-MM-DD\""
            in step)
    troubleshooting = GUIDE[GUIDE.index("## Troubleshooting"):]
    assert any(line.startswith("| On the hub: `No module named 'helpers'`") for line in troubleshooting.splitlines())
