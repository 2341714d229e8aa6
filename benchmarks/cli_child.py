"""Run one `spatialforge` command in a fresh interpreter and measure it (shared by the benchmark scripts).

The child writes its own peak RSS (KiB) to a file: VmHWM, the high-water mark of the interpreter's own
address space. getrusage's ru_maxrss cannot be used, not even RUSAGE_SELF in the child: Linux carries the
forked parent's high-water mark across exec into it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import re, sys
from spatialforge.cli.main import app
out = sys.argv[1]
sys.argv = ["spatialforge", *sys.argv[2:]]
try:
    app()
except SystemExit as e:
    if e.code:
        raise
finally:
    status = open("/proc/self/status").read()
    open(out, "w").write(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1))
"""


def run_cli_measured(args: list[str], rss_file: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of `spatialforge <args>` run in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(rss_file), *args], check=True, capture_output=True)
    return time.perf_counter() - start, int(rss_file.read_text())
