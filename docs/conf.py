"""Sphinx configuration of colorgan's documentation site (MyST Markdown, the Furo theme).

Build it with ``bash scripts/docs.sh`` (strict: every warning is an error). The reference pages are generated
from the code when the build starts (``_ext/colorgan_reference.py``): the command-line options from each CLI's
argparse parser, the config keys from ``conf/`` composed with Hydra, the Python API from the docstrings.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS / "_ext"))

project = "colorgan"
author = "colorgan developers"
copyright = "colorgan developers, MIT licence"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "colorgan_reference",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
# docs/_incoming/: text other branches hand in, to be merged into the pages; README-style notes and examples
# are not pages either.
exclude_patterns = ["_build", "_incoming", "examples", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
# GitHub-style anchors for headings down to ####, so `page.md#a-heading` links work and are checked
myst_heading_anchors = 4

# strict and nitpicky: every cross-reference must resolve; references into other projects (torch, PIL, numpy,
# lightning ...) are not checked, since the build is offline and has no intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!colorgan\b).*"),
    # type aliases and TypeVars that autodoc writes as they are spelled in annotations
    (r"py:.*", r"colorgan\..*\._[A-Za-z].*"),
]

# colorgan's own docstrings only: methods that override Lightning's keep no copy of Lightning's docstrings
autodoc_inherit_docstrings = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_mock_imports: list[str] = []

html_theme = "furo"
html_title = "colorgan"
html_static_path: list[str] = []
html_show_sourcelink = False
