"""Every command the README and docs/ show, run as written (issue "The season without a
stumble", items 7 and 8): a new team follows the docs literally, so a command that fails as
written is a defect. Commands shown with placeholders (CODE, FILE, ID, [options], a|b) are
synopses, not commands; the others run here on a scratch store that `tambon-bot demo` filled,
except those that need platform tokens or take minutes (run, console, train)."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands that run without arguments; any other bare `tambon-bot X` is a mention of X.
WHOLE = {
    ("demo",),
    ("inbox", "status"),
    ("inbox", "dead"),
    ("inbox", "release"),
    ("tambon", "list"),
}
SKIPPED = {"run", "console", "train"}  # tokens, a terminal, or minutes of training
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]*\b|\[|\||\.\.\.|…|<")


def shown_commands() -> list[tuple[str, str]]:
    """(where, command) for each tambon-bot command the docs show that can run as written."""
    found: dict[str, str] = {}
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        inline = re.findall(r"`(?:\.venv/bin/)?(tambon-bot [^`]+)`", text)
        lines = re.findall(r"^\s*(?:\.venv/bin/)?(tambon-bot [^#\n]+)", text, flags=re.M)
        for command in (*inline, *lines):
            command = command.strip()
            words = command.split()[1:]
            if not words or words[0] in SKIPPED or PLACEHOLDER.search(command):
                continue
            given = any(
                word.startswith("-") and not after.startswith("-")
                for word, after in itertools.pairwise(words)
            )
            if not given and tuple(w for w in words if not w.startswith("-")) not in WHOLE:
                continue  # a mention of a command or an option ("`tag --eval`"), not a command
            found.setdefault(command, doc.name)
    return [(where, command) for command, where in found.items()]


COMMANDS = shown_commands()


def test_the_docs_show_commands_to_run() -> None:
    assert len(COMMANDS) >= 10, COMMANDS  # the extraction finds them


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """A scratch store with the demo's season in it, and a folder to work in."""
    work = tmp_path_factory.mktemp("docs")
    env = {"TAMBON_DATABASE_URL": f"sqlite:///{work}/tambon.db", "PATH": "/usr/bin:/bin"}
    done = run_cli(env, "demo", "-o", str(work / "demo.html"), cwd=work)
    assert done.returncode == 0, done.stderr
    return env, work


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[c for _, c in COMMANDS])
def test_a_command_the_docs_show_runs_as_written(
    season: tuple[dict[str, str], Path], where: str, command: str
) -> None:
    env, work = season
    args = [
        str(ROOT / word) if word.startswith("tests/data/") else word
        for word in shlex.split(command)[1:]
    ]
    done = run_cli(env, *args, cwd=work)
    assert "Traceback" not in done.stderr, (where, command, done.stderr)
    # A refusal that depends on the scratch store's state (a tambon that exists already, a
    # code already withdrawn) is a polite exit 2; a command line the program cannot read is not.
    assert "usage:" not in done.stderr, (where, command, done.stderr)
    assert done.returncode in (0, 2), (where, command, done.stderr)


def test_the_nightly_backup_line_runs_as_cron_would(
    season: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    """Item 7: deploying.md's cron line sourced an environment file at another path than the
    bot's, did not export it, and named `tambon-bot`, which is not on cron's PATH. Run it here
    as cron runs it — `sh -c`, a bare PATH, no environment — in a copy of the bot's folder."""
    env, _ = season
    text = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    (line,) = [ln.strip() for ln in text.splitlines() if re.match(r"\s+30 2 \* \* \*", ln)]
    command = line.split("*", 3)[3].strip().replace("\\%", "%")  # cron's escaped %
    folder = tmp_path / "opt-tambon-bot"
    folder.mkdir()
    (folder / ".venv").symlink_to(ROOT / ".venv")
    (folder / ".env").write_text(f"TAMBON_DATABASE_URL={env['TAMBON_DATABASE_URL']}\n")
    backups = tmp_path / "backup"
    backups.mkdir()
    command = command.replace("/opt/tambon-bot", str(folder)).replace("/backup", str(backups))
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (made,) = backups.glob("tambon-*.db")
    assert made.stat().st_size > 0
