"""The ``heartlang-sk`` command: one subcommand per stage and the whole job (``demo``)."""

from .app import build_parser, main

__all__ = ["build_parser", "main"]
