"""A Python script that speaks arrayjob's --tasks protocol, driven through the CLI:

    deno run -A cli.ts script --num-tasks 20 --step 5 -- python3 examples/python/fit.py
    deno run -A cli.ts simulate fit/run.sh

The slice parser is the seed's, with its bugs fixed: -1 selects the last task and a comma
list (1,5,7:9) selects a union. Each task is reported through arrayjob_record.py, so that
`arrayjob status` and `arrayjob resubmit` work per task. Standard library only.
"""

import argparse
import json
import math
import pathlib

from arrayjob_record import record_task


def str_to_indices(spec: str, count: int) -> list[int]:
    """Python's list[i] and list[a:b:c] semantics, plus comma lists, as arrayjob's --tasks."""
    if spec == "":
        return list(range(count))
    selected: list[int] = []
    seen: set[int] = set()
    for part in spec.split(","):
        fields = [None if f.strip() == "" else int(f) for f in part.split(":")]
        if len(fields) == 1:
            if fields[0] is None:
                raise ValueError(f"invalid task spec {spec!r}: empty part")
            indices = [range(count)[fields[0]]]  # IndexError when out of range, as it should
        elif len(fields) in (2, 3):
            indices = list(range(count)[slice(*fields)])
        else:
            raise ValueError(f"invalid task spec {spec!r}: too many colons in {part!r}")
        for i in indices:
            if i not in seen:
                seen.add(i)
                selected.append(i)
    return selected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="", help="tasks to run: 3, -1, 0:10, 0:10:2, 1,5,7:9")
    args = parser.parse_args()

    # The task list: one model per (degree, noise) pair.
    tasks = [(degree, noise) for degree in range(1, 6) for noise in (0.0, 0.1, 0.2, 0.4)]

    out = pathlib.Path("results")
    out.mkdir(exist_ok=True)
    for index in str_to_indices(args.tasks, len(tasks)):
        with record_task(index):
            degree, noise = tasks[index]
            error = sum((math.sin(x / 10) - x / 10 + noise) ** 2 for x in range(10 * degree))
            (out / f"fit-{index}.json").write_text(
                json.dumps({"index": index, "degree": degree, "noise": noise, "error": error}) + "\n"
            )
            print(f"task {index}: degree={degree} noise={noise} error={error:.4f}")


if __name__ == "__main__":
    main()
