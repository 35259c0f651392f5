"""The documentation cannot go stale: the site builds strictly, its examples run, its training commands compose,
the options it names exist, every figure names the script that made it, and the reference covers every setting."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import colorgan_reference as reference  # noqa: E402

GENERATED = {DOCS / "reference" / name for name in ("cli.md", "config.md", "code-map.md")}


def doc_files() -> list[Path]:
    """README.md and every page of the site (not the text waiting in docs/_incoming, not generated pages)."""
    pages = [
        p
        for p in sorted(DOCS.rglob("*.md"))
        if "_incoming" not in p.parts
        and "examples" not in p.parts
        and p not in GENERATED
        and not p.is_relative_to(DOCS / "reference" / "api")
    ]
    return [ROOT / "README.md", *pages]


FENCE = re.compile(r"^(```+|:::+)\s*\{?([\w-]*)\}?[^\n]*\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def code_blocks(text: str) -> list[tuple[str, str]]:
    return [(m[2], m[3]) for m in FENCE.finditer(text)]


def command_lines(text: str) -> list[str]:
    """Shell lines of the fenced code blocks (continuations joined) and the inline code spans."""
    lines = []
    for lang, body in code_blocks(text):
        if lang not in ("bash", "sh", "shell", "console", ""):
            continue
        lines += body.replace("\\\n", " ").splitlines()
    prose = FENCE.sub("", text)
    lines += INLINE.findall(prose)
    return lines


# ------------------------------------------------------------------------------------------------ the site builds
@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """scripts/docs.sh: Sphinx with -W (a warning, a broken link or anchor, a page outside the navigation fail)."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("furo")
    env = {**os.environ, "OUT": str(tmp_path / "site")}
    proc = subprocess.run(["bash", "scripts/docs.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    for page in ("index", "get-started", "train/resume", "scale/slurm", "reference/cli", "reference/config"):
        assert (tmp_path / "site" / f"{page}.html").is_file(), page


def test_every_page_is_in_the_navigation() -> None:
    """Sphinx warns about a page outside every toctree; this says which, without a build."""
    listed = set()
    for page in DOCS.rglob("*.md"):
        for _, body in [b for b in code_blocks(page.read_text()) if b[0] == "toctree"]:
            for entry in body.splitlines():
                entry = entry.strip()
                if entry and not entry.startswith(":"):
                    listed.add((page.parent / entry).resolve().relative_to(DOCS).as_posix())
    for page in doc_files()[1:]:
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        assert name == "index" or name in listed, f"docs/{name}.md is in no toctree"


# ---------------------------------------------------------------------------------------------- examples that run
EXAMPLES = sorted((DOCS / "examples").glob("*.py"))


def test_python_examples_are_files_the_tests_run() -> None:
    """A ``python`` block written into a page would not be run: examples live in docs/examples/ and are included."""
    for page in doc_files():
        for lang, _ in code_blocks(page.read_text()):
            assert lang not in ("python", "py", "pycon"), (
                f"{page.relative_to(ROOT)} has a python code block: put it in docs/examples/ and literalinclude it"
            )
    included = {m for page in doc_files() for m in re.findall(r"literalinclude\}\s+(\S+)", page.read_text())}
    for example in EXAMPLES:
        assert any(inc.endswith(f"examples/{example.name}") for inc in included), f"no page includes {example.name}"


@pytest.fixture
def example_folder(tmp_path: Path, tiny_ckpt: Path, tiny_hinted_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that holds every file the examples name: checkpoints, photos, a hints file, short films."""
    from helpers.photos import write_photos

    shutil.copy(tiny_ckpt, tmp_path / "last.ckpt")
    shutil.copy(tiny_hinted_ckpt, tmp_path / "hinted.ckpt")
    for name in ("grandma.jpg", "a.jpg", "b.png", "photo.jpg"):
        ext = name.rsplit(".", 1)[1]
        (photo,) = write_photos(tmp_path / "_photos" / name, 1, size=(160, 128), ext=ext)
        photo.rename(tmp_path / name)
    (tmp_path / "hints.json").write_text('{"points": [{"x": 20, "y": 30, "color": "#2a5caa", "size": 5}]}')
    if "av" in sys.modules or _has("av"):
        from helpers.videos import write_clip

        for name in ("family_film.mp4", "film.mkv", "vhs.mkv"):
            write_clip(tmp_path / name, frames=6, cut=3)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_python_examples_run(example: Path, example_folder: Path) -> None:
    import runpy

    if "film" in example.stem:
        pytest.importorskip("av")
    runpy.run_path(str(example), run_name="__main__")


# ------------------------------------------------------------------------------------ training commands compose
TRAIN = "python -m colorgan.train"
PLACEHOLDERS = {
    "<time>": "2025-06-01_10-00-00",
    "$PWD": "/work",
    "$gpu": "0",
    "${SLURM_ARRAY_TASK_ID}": "0",
    "$COLORGAN_DATA": "/data/sports",
}


def train_commands() -> list[tuple[str, str]]:
    """Every ``python -m colorgan.train ...`` of README.md and the pages: (file, command line after the module)."""
    found = []
    for path in doc_files():
        for line in command_lines(path.read_text()):
            if TRAIN not in line:
                continue
            before, rest = line.split(TRAIN, 1)
            for quote in "'\"":
                if before.count(quote) % 2:  # the command is quoted (sbatch --wrap '...'): it ends at the quote
                    rest = rest.split(quote, 1)[0]
            for key, value in PLACEHOLDERS.items():
                rest = rest.replace(key, value)
            found.append((path.relative_to(ROOT).as_posix(), rest.strip()))
    return found


def overrides_of(rest: str) -> tuple[list[str], bool]:
    """The Hydra overrides of a command line, and whether it is a multirun. Stops at a shell operator or comment;
    ``...`` (the rest of your command) and ``--cfg job`` are left out."""
    lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens: list[str] = []
    for token in lexer:
        if token in (";", "&", "&&", "|", "||", ")", "("):
            break
        tokens.append(token)
    multirun = any(t in ("-m", "--multirun") for t in tokens)
    out, skip = [], False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token in ("--cfg", "-c"):
            skip = True
            continue
        if token in ("-m", "--multirun", "...", "…"):
            continue
        out.append(token)
    return out, multirun or any(o.startswith("+compare=") for o in out)


def first_of_each_sweep(overrides: list[str]) -> list[str]:
    """A multirun's first job: every sweep (``a,b``, ``choice(...)``) reduced to its first value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    out = []
    for override, text in zip(parsed, overrides):
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()))
            out.append(f"{override.get_key_element()}={first}")
        else:
            out.append(text)
    return out


TRAIN_COMMANDS = train_commands()


def test_the_docs_have_training_commands() -> None:
    assert len(TRAIN_COMMANDS) > 30 and any(f == "README.md" for f, _ in TRAIN_COMMANDS)


@pytest.mark.parametrize("where,command", TRAIN_COMMANDS, ids=[f"{f}:{c[:60]}" for f, c in TRAIN_COMMANDS])
def test_training_commands_compose(where: str, command: str) -> None:
    """What ``python -m colorgan.train <overrides> --cfg job`` composes, in-process: every override names a key,
    group or option that exists, with a value of the right type."""
    overrides, multirun = overrides_of(command)
    if multirun:
        overrides = first_of_each_sweep(overrides)
    reference.compose("train", overrides)


def test_a_wrong_command_does_not_compose() -> None:
    """The check above fails on a misspelt key or a group option that does not exist."""
    from hydra.errors import ConfigCompositionException

    for bad in ("data.batch_sise=4", "+experiment=no_such_experiment", "model/generator=vgg"):
        with pytest.raises(ConfigCompositionException):
            reference.compose("train", [bad])


# ----------------------------------------------------------------------------------------- options that exist
def cli_aliases() -> dict[str, set[str]]:
    """How the docs write each command -> its option strings."""
    aliases: dict[str, set[str]] = {}
    for cli in reference.find_clis():
        options = cli.option_strings()
        names = {cli.name}
        if not cli.module.startswith("scripts/"):
            names.add(f"python -m {cli.module}")
            package = cli.module.rsplit(".", 1)[0]
            if (reference.SRC / package.replace(".", "/") / "__main__.py").exists():
                names.add(f"python -m {package}")
            if cli.name.startswith("colorgan-"):
                names.add(f"python -m colorgan.{cli.name.removeprefix('colorgan-')}")
        for name in names:
            aliases[name] = options
    return aliases


# options of other programs the docs show next to colorgan's (pip, sbatch, wandb, Hydra, the shell scripts)
FOREIGN = {
    "--cfg",
    "--multirun",
    "--nodes",
    "--array",
    "--gpus",
    "--cpus-per-task",
    "--time",
    "--wrap",
    "--count",
    "--serve",
    "--cpu-smoke",
    "--offline",
    "--pid",
    "--no-index",
    "--no-deps",
    "--target",
    "--quiet",
}


def test_every_option_the_docs_name_exists() -> None:
    aliases = cli_aliases()
    every = set().union(*aliases.values())
    problems = []
    for path in doc_files():
        text = path.read_text()
        for line in command_lines(text):
            for name, options in aliases.items():
                at = line.find(name + " ")
                if at < 0:
                    continue
                for token in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", line[at + len(name) :].split(" #")[0]):
                    if token not in options:
                        problems.append(f"{path.relative_to(ROOT)}: `{name}` has no option {token}: {line.strip()}")
        for token in re.findall(r"`(--[a-z][\w-]*)", FENCE.sub("", text)):
            if token not in every and token not in FOREIGN:
                problems.append(f"{path.relative_to(ROOT)}: no command has the option {token}")
    assert not problems, "\n".join(problems)


def test_the_option_check_catches_a_missing_option() -> None:
    aliases = cli_aliases()
    assert "--compare" in aliases["colorgan-colorize"] and "--no-such-option" not in aliases["colorgan-colorize"]
    assert "--ckpt" in aliases["python -m colorgan.app"] and "--windows" in aliases["python -m colorgan.benchmark"]


# ----------------------------------------------------------------------------------- figures name their script
def figures(text: str) -> list[tuple[str, str]]:
    """(image, caption) of every {figure} of a page, and of every Markdown image (its caption: the paragraph after)."""
    found: list[tuple[str, str]] = []
    for m in re.finditer(r"^```\{figure\}\s+(\S+)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        found.append((m[1], m[2]))
    for m in re.finditer(r"!\[[^\]]*\]\(([^)]+)\)\n\n(.*?)(?:\n\n|\Z)", text, flags=re.DOTALL):
        found.append((m[1], m[2]))
    return found


MADE_BY = re.compile(r"`(?:bash |python )?(scripts/[\w.-]+)|`python -m (colorgan[\w.]*)")


def test_every_figure_names_the_script_that_made_it() -> None:
    seen = 0
    for path in doc_files():
        text = path.read_text()
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text) + re.findall(r"^```\{figure\}\s+(\S+)", text, re.M)
        pairs = figures(text)
        assert len(pairs) == len(images), f"{path.relative_to(ROOT)}: an image without a caption"
        for image, caption in pairs:
            seen += 1
            assert (path.parent / image).is_file(), f"{path.relative_to(ROOT)}: {image} does not exist"
            made = MADE_BY.findall(caption)
            assert made, f"{path.relative_to(ROOT)}: the caption of {image} names no script that made it"
            for script, module in made:
                if script:
                    assert (ROOT / script).is_file(), f"{path.relative_to(ROOT)}: {script} does not exist"
                else:
                    top = module.split(".")[1] if "." in module else ""
                    assert (reference.SRC / "colorgan" / top).exists() or (
                        reference.SRC / "colorgan" / f"{top}.py"
                    ).exists(), module
    assert seen >= 7


# ------------------------------------------------------------------------------------------- the reference
def test_the_config_reference_explains_every_data_and_model_key() -> None:
    text = reference.config_markdown()
    rows = re.findall(r"^\| `((?:data|model)\.[^`]+)` \| (.*) \| (.*) \| (.*) \|$", text, flags=re.MULTILINE)
    assert len(rows) > 60
    silent = [key for key, _, _, meaning in rows if not meaning.strip() and not key.endswith(("_target_", "_partial_"))]
    assert not silent, f"keys with no comment in their YAML file under conf/ (add one beside or above): {silent}"


def test_the_cli_reference_lists_every_colorize_option() -> None:
    text = reference.cli_markdown(reference.find_clis())
    (colorize,) = [c for c in reference.find_clis() if c.name == "colorgan-colorize"]
    section = text.split("## colorgan-colorize", 1)[1].split("\n## ", 1)[0]
    for option in colorize.option_strings() - {"-h", "--help"}:
        assert f"`{option}" in section or f", {option}" in section, option


def test_yaml_comments_are_read_beside_and_above_keys(tmp_path: Path) -> None:
    yaml = tmp_path / "x.yaml"
    yaml.write_text("# the file\nsection:\n  # above\n  a: 1\n  b: 'x # y'  # beside\n  # c: not this key\n  d: 2\n")
    head, comments = reference.yaml_comments(yaml)
    assert head == "the file"
    assert comments == {"section.a": "above", "section.b": "beside"}
