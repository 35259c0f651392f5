"""What the scripts and the README point a reader to exists: repository files and README sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file())
# a repository path as the scripts and the README write it: docs/x.png, scripts/demo.sh, README.md#section
FILE_REF = re.compile(r"(?<![\w/.$-])((?:docs|scripts|conf|notebooks)/[\w./-]*\w|README\.md)(#[\w-]+)?")
README_LINK = re.compile(r"\]\(((?!https?:)[^)#\s]*)(#[^)\s]+)?\)")


def readme_anchors() -> set[str]:
    """The anchors GitHub gives the README's headings: lower case, punctuation dropped, spaces -> hyphens."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    return {"#" + re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_slugs_follow_github() -> None:
    anchors = readme_anchors()
    assert "#what-global_step-counts" in anchors and "#multi-gpu-and-multi-node-training" in anchors


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_scripts_point_to_what_exists(script: Path) -> None:
    anchors = readme_anchors()
    for path, anchor in FILE_REF.findall(script.read_text()):
        assert (ROOT / path).exists(), f"{script.name} points to {path}, which does not exist"
        if anchor:
            assert path == "README.md" and anchor in anchors, f"{script.name} points to {path}{anchor}: no such section"


def test_readme_links_point_to_what_exists() -> None:
    anchors = readme_anchors()
    for path, anchor in README_LINK.findall((ROOT / "README.md").read_text()):
        if path:
            assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
        if anchor and path in ("", "README.md"):
            assert anchor in anchors, f"README links to {anchor}: no such section"
