"""TASKS lists the tasks in one canonical order (by TASK_MODULES, then definition), whichever module a program
imports first: the order is what listings, snapshots and the task loop of generation follow. (Importing
spatialforge.tasks.level2 first used to fail on an import cycle through the registry.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spatialforge.tasks.registry import TASK_MODULES, TASKS


def _order_after_importing(first: str) -> list[str]:
    code = (
        f"import {first}\n"
        "import json\nfrom spatialforge.tasks.registry import TASKS\nprint(json.dumps(list(TASKS)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("first", ["spatialforge.tasks.problem_solving", "spatialforge.tasks.level2"])
def test_importing_a_task_module_first_keeps_the_order(first):
    assert _order_after_importing(first) == list(TASKS)


def test_the_order_follows_the_module_list():
    modules = [TASKS[name].candidates.__module__.rpartition(".")[2] for name in TASKS]
    ranks = [TASK_MODULES.index(module) for module in modules]
    assert ranks == sorted(ranks) and set(modules) == set(TASK_MODULES)
