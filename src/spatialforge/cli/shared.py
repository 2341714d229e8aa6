"""What every command module of the CLI shares: the stderr console and the way a command fails."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def fail(err: Exception) -> None:
    """Print the error (file, record and field when it names them) and exit with status 2."""
    # soft_wrap: keep file paths on one line so they can be copied.
    console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=2)
