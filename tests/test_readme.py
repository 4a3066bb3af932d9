"""The README's set-up commands are the ones CI runs."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_commands():
    readme = REPO.joinpath("README.md").read_text()
    ci = REPO.joinpath(".ci", "run").read_text().splitlines()
    commands = [line.strip() for line in ci
                if line.strip() and not line.startswith(("#", "set ", "cd ", "export ", "start=", "echo "))]
    assert commands, ".ci/run has no commands"
    for command in commands:
        assert command in readme, f".ci/run runs {command!r}, which the README does not show"
