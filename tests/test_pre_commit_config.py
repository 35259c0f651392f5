"""The pre-commit checks run offline: every hook is local and runs a tool that the dev extra installs.

CI and scripts/test.sh run ``pre-commit run --all-files`` on machines that reach PyPI only; a hook from a remote
repository would make pre-commit clone it there and fail before any check ran.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def hooks() -> list[dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "hooks from remote repositories need a network"
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_every_hook_is_a_local_system_tool_of_the_dev_extra() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    dev_names = {re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower() for req in dev}
    assert {"ruff", "mypy", "pre-commit", "pre-commit-hooks"} <= dev_names
    for hook in hooks():
        assert hook["language"] == "system", hook["id"]
        tool = hook["entry"].split()[0]
        assert shutil.which(tool), f"hook {hook['id']}: {tool} is not installed (pip install -e '.[dev]')"


def test_the_usual_checks_are_there() -> None:
    ids = {hook["id"] for hook in hooks()}
    assert {
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
        "check-toml",
        "check-added-large-files",
        "ruff-check",
        "ruff-format",
        "mypy",
    } <= ids


def test_the_test_command_runs_them() -> None:
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "pre-commit run --all-files" in test_sh
    assert test_sh.index("pre-commit run") < test_sh.index("python -m pytest")
