"""docs/cli.md is the command-line reference: its command index is what `strates --help`
says at every depth, so a new or renamed command cannot ship undocumented
(`python3 scripts/cli_reference.py` rewrites the index)."""
import sys
from pathlib import Path

from conftest import strates_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import cli_reference  # noqa: E402


def test_the_command_index_is_what_help_says():
    expected = cli_reference.index(strates_binary())
    assert expected.count("\n") > 40, "the --help walk found too few commands"
    assert cli_reference.written() == expected, "docs/cli.md's command index is stale: run python3 scripts/cli_reference.py"
