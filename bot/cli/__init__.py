"""`brief`: the one command line of Caucasus Brief. Every command is registered here, in one list; their bodies live
in small modules by job (store, reading, serving) and call the public functions of retrieval/ (and of bot/ for `run`
and `chat`). It lives in bot/ because `run` and `chat` need the bot, and retrieval/ stays free of Telegram.

Settings are read inside each command; an invalid one (SettingsError, a BriefError) ends any command with one line
per setting (name, value, what is allowed) and exit code 2, not a traceback."""

from __future__ import annotations

import click

from .reading import ask_command, briefing_command, search_command
from .serving import chat_command, run_command
from .store import feeds_command, ingest_command, pending_command, reindex_command, stats_command
from .terminal import BriefGroup, CommandFailure


@click.group(cls=BriefGroup)
def main() -> None:
    """Caucasus Brief: cited briefings on the Armenia–Azerbaijan conflict from ingested news."""


# Every command of `brief`, in the order `brief --help` lists them.
COMMANDS: tuple[click.Command, ...] = (
    ask_command,
    briefing_command,
    chat_command,
    feeds_command,
    ingest_command,
    pending_command,
    reindex_command,
    run_command,
    search_command,
    stats_command,
)
for command in COMMANDS:
    main.add_command(command)

__all__ = ["COMMANDS", "CommandFailure", "main"]
