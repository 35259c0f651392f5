"""What the scripts and the README point a reader to exists: repository files, and the sections of README.md and of
the documentation's pages (the links between pages are checked by the site's strict build, tests/docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file())
# a repository path as the scripts and the README write it: docs/x.png, scripts/demo.sh, docs/train/resume.md#section
FILE_REF = re.compile(r"(?<![\w/.$-])((?:docs|scripts|conf|notebooks)/[\w./-]*\w|README\.md)(#[\w-]+)?")
README_LINK = re.compile(r"\]\(((?!https?:)[^)#\s]*)(#[^)\s]+)?\)")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub (and the site, myst_heading_anchors) give a page's headings: lower case, punctuation
    dropped, spaces -> hyphens. Headings inside code blocks are not headings."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {"#" + re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def readme_anchors() -> set[str]:
    return anchors(ROOT / "README.md")


def test_slugs_follow_github() -> None:
    assert "#what-global_step-counts" in anchors(ROOT / "docs" / "train" / "checkpoints.md")
    assert "#multi-gpu-and-multi-node-training" in anchors(ROOT / "docs" / "scale" / "multi-gpu.md")
    assert "#colorize-a-folder" in readme_anchors()


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_scripts_point_to_what_exists(script: Path) -> None:
    for path, anchor in FILE_REF.findall(script.read_text()):
        assert (ROOT / path).exists(), f"{script.name} points to {path}, which does not exist"
        if anchor:
            assert path.endswith(".md") and anchor in anchors(ROOT / path), f"{script.name} points to {path}{anchor}"


def test_readme_links_point_to_what_exists() -> None:
    for path, anchor in README_LINK.findall((ROOT / "README.md").read_text()):
        if path:
            assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
        if anchor:
            page = ROOT / (path or "README.md")
            assert anchor in anchors(page), f"README links to {path}{anchor}: no such section"
