"""`python -m coprocessor.cli`: the command line."""

from coprocessor.cli import app

app()
