"""Report each task to arrayjob, from any Python program: standard library only.

Inside an array task of a script arrayjob rendered, the environment variable ARRAYJOB_RECORD names
the array task's record file. One line per finished task, `task<TAB>INDEX<TAB>STATUS<TAB>MS`
(STATUS 0 for success), after one `reports<TAB>python` line, lets `arrayjob status` and `arrayjob resubmit` work per task instead of per
chunk: a chunk whose program reports some tasks counts only those with their own success line as
done, whatever the program's exit status. Outside an array task (no ARRAYJOB_RECORD) it does
nothing, so the same program runs unchanged on a laptop.

    from arrayjob_record import record_task

    for index in indices:
        with record_task(index):
            run(tasks[index])      # an exception is recorded as a failure (status 1), then re-raised
"""

import contextlib
import os
import time
from typing import Iterator, Optional

RECORD_VARIABLE = "ARRAYJOB_RECORD"

# Consumed at import: a helper program a task starts (which may report its own tasks) must not
# write into this program's record.
RECORD_FILE = os.environ.pop(RECORD_VARIABLE, None)
_declared = False


def _append(line: str, path: Optional[str]) -> None:
    path = path if path is not None else RECORD_FILE
    if not path:
        return
    # One write of one short line in append mode: lines from one array task never interleave.
    with open(path, "a", encoding="utf-8") as record:
        record.write(line)


def declare_reporting(path: Optional[str] = None) -> None:
    """Say, once, that this program reports each task: from then on, status counts a task of
    this run as done only with its own success line, even if the program exits 0 early."""
    global _declared
    if not _declared:
        _declared = True
        _append("reports\tpython\n", path)


def write_record(index: int, status: int, milliseconds: float, path: Optional[str] = None) -> None:
    """Append one task's line to the record file (no-op when there is none)."""
    declare_reporting(path)
    _append(f"task\t{int(index)}\t{int(status)}\t{round(milliseconds)}\n", path)


@contextlib.contextmanager
def record_task(index: int) -> Iterator[None]:
    """Run the body as task `index`: success when it returns, failure (status 1) when it raises.
    The declaration comes before the body, so a body that exits the process leaves it not done."""
    declare_reporting()
    started = time.monotonic()
    try:
        yield
    except BaseException:
        write_record(index, 1, (time.monotonic() - started) * 1000)
        raise
    write_record(index, 0, (time.monotonic() - started) * 1000)
