"""`python -m dbsynth` runs the command line."""

from dbsynth.cli import run

run()
