"""scripts/selection_metric_evidence.py runs, and the docs page says what it prints."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "selection_metric_evidence.py"


@pytest.fixture(scope="module")
def evidence():
    spec = importlib.util.spec_from_file_location("selection_metric_evidence", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_block_is_what_the_script_prints(evidence) -> None:
    n, results = evidence.controlled_results()
    block = evidence.readme_block(n, results)
    readme = evidence.DOCS_PAGE.read_text()
    start, end = readme.index(evidence.README_START), readme.index(evidence.README_END) + len(evidence.README_END)
    assert readme[start:end] == block, "run: python scripts/selection_metric_evidence.py --write-docs"
    # the table is what the metrics say: the truth scores 0 everywhere, gray has no colour
    assert all(abs(v) < 1e-4 for c, v in results["truth"].items() if c in evidence.CANDIDATES), results["truth"]
    assert results[evidence.GRAY]["colorfulness"] < 0.5 < 20 < results["truth"]["colorfulness"]


def test_the_findings_follow_the_numbers(evidence) -> None:
    """The sentences are computed: with a sepia cast better than gray on L1 they say so, and rank what L1 favours."""
    results = {name: dict.fromkeys([*evidence.CANDIDATES, "colorfulness", "psnr"], 0.5) for name in (
        "truth", evidence.DESATURATED, evidence.HUE, evidence.MIRRORED, evidence.OTHER, evidence.SEPIA, evidence.GRAY)}
    results[evidence.SEPIA]["l1_ab"], results[evidence.GRAY]["l1_ab"] = 0.087, 0.1
    results[evidence.DESATURATED]["l1_swd_ab"] = 0.1
    text = "\n".join(evidence.findings(results))
    assert "L1 takes 13 % off gray's error (0.0870 against 0.1000)" in text
    assert "L1 ranks \"sepia (a*=6, b*=20)\" ahead of gray" in text
    assert "ranks ahead of the mirrored colours by `l1_swd_ab`, and behind them by the others" in text


@pytest.mark.slow
def test_the_script_runs_and_writes_the_readme_block(tmp_path, evidence) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert evidence.README_START in proc.stdout and "| gray (ab = 0) |" in proc.stdout
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{evidence.README_START}\nold\n{evidence.README_END}\nafter\n")
    evidence.write_readme("NEW", readme)
    assert readme.read_text() == "before\nNEW\nafter\n"
