"""Subcommands of the ``symconv`` command, discovered by ``symconv.cli`` (one module each)."""
