"""The README keeps up with the code: every setting and both set-up commands."""

from __future__ import annotations

from pathlib import Path

from bot.settings import SETTINGS, Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

RUN_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/tambon-bot run"
TEST_COMMAND = (
    "scripts/system-packages && python3 -m venv .venv && .venv/bin/pip install -e '.[test]'"
    " && .venv/bin/python -m pytest"
)


def test_readme_lists_every_setting() -> None:
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in README]
    assert not missing


def test_readme_commands_and_ci_agree() -> None:
    assert RUN_COMMAND in README
    assert TEST_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_settings_precedence(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TAMBON_LOCALE=en\nTAMBON_DATABASE_URL=sqlite:///from-file.db\n")
    settings = Settings.load({"TAMBON_DATABASE_URL": "sqlite:///from-env.db"}, env_file)
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.locale == "en"
    assert Settings.load({}, None).database_url == "sqlite:///data/tambon.db"
    assert Settings.load({"TAMBON_LOCALE": "fr"}, None).locale == "th"
    assert not Settings.load({"LINE_CHANNEL_SECRET": "s"}, None).line_enabled


def test_flow_diagrams_name_every_step() -> None:
    from handlers.account import AccountStep
    from handlers.intake import IntakeStep
    from handlers.onboarding import OnboardingStep
    from handlers.voting import PollSetupStep, VoteStep

    for steps, diagram in (
        (OnboardingStep, "onboarding.mmd"),
        (IntakeStep, "intake.mmd"),
        (AccountStep, "account.mmd"),
        (VoteStep, "voting.mmd"),
        (PollSetupStep, "voting.mmd"),
    ):
        text = (ROOT / "handlers" / diagram).read_text(encoding="utf-8")
        for step in steps:
            assert step.name in text, f"{diagram} lacks {step.name}"
