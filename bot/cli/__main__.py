"""`python -m bot.cli`: the same program as the `brief` console script, under the same name."""

from . import main

main(prog_name="brief")
