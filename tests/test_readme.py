"""The README's promises stay true: its test command is what CI runs, its settings are the real ones."""

import re
from pathlib import Path

from examsvc.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _commands()
    assert len(commands) == 2, commands
    run, test = commands
    assert run.endswith("examsvc demo") and "pip install -e ." in run
    assert "pytest" in test and "'.[test]'" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines(), "the README test command must be the line .ci/run executes"


def test_configuration_table_lists_every_setting_with_its_default():
    for name, (default, _description) in DEFAULTS.items():
        shown = "—" if default is None else f"`{default!r}`"
        assert f"| `EXAMSVC_{name}` | {shown} |" in README, name
