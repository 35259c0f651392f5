"""scripts/ensure_chromium.sh: the README's test command brings its own Chromium, or says what to install.

Each case runs the script with a PATH that holds only a few stand-ins (no real Chromium, apt-get or sudo), so it
sees the machine the case describes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ensure_chromium.sh"
BASH = "/bin/bash"


def _stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def _machine(tmp_path: Path, uid: int, apt: bool, sudo: bool = False) -> tuple[Path, Path]:
    """A bin folder for PATH: ``id -u`` says ``uid``; with ``apt``, an apt-get that logs its arguments and, on
    ``install ... chromium``, puts a chromium in the same folder."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls.log"
    _stand_in(bin_, "id", f'[ "$1" = -u ] && echo {uid}')
    if apt:
        _stand_in(bin_, "apt-get", f'echo "apt-get $*" >> {log}\n'
                  f'case "$*" in *install*chromium*) printf "#!{BASH}\\n" > {bin_}/chromium; '
                  f'/bin/chmod +x {bin_}/chromium;; esac')
    if sudo:
        _stand_in(bin_, "sudo", f'echo "sudo $*" >> {log}\n[ "$1" = -n ] && shift\n"$@"')
    return bin_, log


def _run(bin_: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(bin_), **env})


def test_root_with_apt_installs_chromium(tmp_path: Path) -> None:
    bin_, log = _machine(tmp_path, uid=0, apt=True)
    proc = _run(bin_)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines() == ["apt-get update -q", "apt-get install -y -q chromium"]
    assert (bin_ / "chromium").is_file()
    proc = _run(bin_)  # found now: nothing more is installed
    assert proc.returncode == 0 and len(log.read_text().splitlines()) == 2


def test_a_user_with_password_less_sudo_installs_through_sudo(tmp_path: Path) -> None:
    bin_, log = _machine(tmp_path, uid=1000, apt=True, sudo=True)
    proc = _run(bin_)
    assert proc.returncode == 0, proc.stderr
    assert "sudo -n apt-get install -y -q chromium" in log.read_text()


@pytest.mark.parametrize(("uid", "apt"), [(1000, True), (0, False)])
def test_without_a_way_to_install_it_says_what_to_install(tmp_path: Path, uid: int, apt: bool) -> None:
    bin_, log = _machine(tmp_path, uid=uid, apt=apt)
    proc = _run(bin_)
    assert proc.returncode == 1
    assert "none was found" in proc.stderr and "sudo apt-get install chromium" in proc.stderr
    assert "COLORGAN_CHROMIUM=/path/to/chromium" in proc.stderr
    assert not log.exists() or "install" not in log.read_text()


def test_colorgan_chromium_names_the_browser(tmp_path: Path) -> None:
    bin_, log = _machine(tmp_path, uid=0, apt=True)
    browser = tmp_path / "my-chrome"
    _stand_in(tmp_path, "my-chrome", "true")
    assert _run(bin_, COLORGAN_CHROMIUM=str(browser)).returncode == 0 and not log.exists()
    proc = _run(bin_, COLORGAN_CHROMIUM=str(tmp_path / "missing"))
    assert proc.returncode == 1 and f"COLORGAN_CHROMIUM={tmp_path / 'missing'} is not an executable" in proc.stderr


def test_the_readme_test_command_and_ci_run_it() -> None:
    """scripts/test.sh (the README's command) checks for Chromium before the tests; .ci/run only calls it."""
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert test_sh.index("bash scripts/ensure_chromium.sh") < test_sh.index("python -m pytest")
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "bash scripts/test.sh" and not any("apt-get" in line for line in ci)
