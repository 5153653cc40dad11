/**
 * A set of task indices kept as ranges: what a job's status lists its tasks in.
 *
 * @module
 */

/**
 * A set of task indices kept as ascending, disjoint ranges, so that its memory grows with the
 * number of ranges, not of tasks: a job of 10^9 tasks with a few failures is a few ranges. It
 * iterates its indices, and its string is the `--tasks` spec that selects them.
 *
 * @example
 * ```ts
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * const set = TaskSet.of([7, 1, 2, 3]);
 * assert.equal(set.length, 4);
 * assert.deepEqual([...set], [1, 2, 3, 7]);
 * assert.equal(String(set), "1:4,7");
 * ```
 */
export class TaskSet implements Iterable<number> {
  /** The ranges `[start, stop)`, ascending, neither overlapping nor touching. */
  readonly ranges: readonly (readonly [number, number])[];
  /** The number of indices. */
  readonly length: number;

  /**
   * Makes a set of ranges, which may be unsorted, overlap or touch.
   *
   * @param ranges Half-open ranges `[start, stop)`.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new TaskSet([[5, 9], [0, 2], [2, 3]]).ranges, [[0, 3], [5, 9]]);
   * ```
   */
  constructor(ranges: Iterable<readonly [number, number]>) {
    const given = Array.isArray(ranges) ? ranges as readonly (readonly [number, number])[] : [
      ...ranges,
    ];
    // Most sets arrive sorted (a record's spec, a chunk, another set's ranges): sort only when
    // they are not, since status builds one set per record, 10^5 times.
    let ordered = true;
    for (let i = 0; ordered && i < given.length; i++) {
      ordered = given[i]![1] > given[i]![0] && (i === 0 || given[i]![0] >= given[i - 1]![0]);
    }
    const sorted = ordered ? given : given.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    let length = 0;
    for (const [a, b] of sorted) {
      const last = merged.at(-1);
      if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]); // a copy: the caller's ranges stay theirs
    }
    for (const [a, b] of merged) length += b - a;
    // An array grown by push keeps room for 17 entries: exact copies keep 10^5 small sets small.
    this.ranges = merged.length < 16 ? merged.slice() : merged;
    this.length = length;
  }

  /**
   * Makes a set of single indices.
   *
   * @param indices Indices in any order; duplicates are ignored.
   * @returns The set.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(TaskSet.of([3, 4]).ranges, [[3, 5]]);
   * ```
   */
  static of(indices: Iterable<number>): TaskSet {
    return new TaskSet([...indices].map((i) => [i, i + 1] as const));
  }

  /**
   * The indices of this set that are not in `other`.
   *
   * @param other The indices to leave out.
   * @returns A new set.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new TaskSet([[0, 10]]).without(TaskSet.of([3, 4, 9]))), "0:3,5:9");
   * ```
   */
  without(other: TaskSet): TaskSet {
    const kept: [number, number][] = [];
    let o = 0;
    for (const [a, b] of this.ranges) {
      let from = a;
      while (o < other.ranges.length && other.ranges[o]![1] <= from) o++;
      for (let k = o; k < other.ranges.length && other.ranges[k]![0] < b; k++) {
        const [x, y] = other.ranges[k]!;
        if (x > from) kept.push([from, x]);
        from = Math.max(from, y);
      }
      if (from < b) kept.push([from, b]);
    }
    return new TaskSet(kept);
  }

  /**
   * Whether an index is in the set, by binary search over the ranges.
   *
   * @param index The index.
   * @returns True when a range holds it.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * const set = new TaskSet([[0, 3], [10, 1e9]]);
   * assert.equal(set.has(2), true);
   * assert.equal(set.has(5), false);
   * assert.equal(set.has(999_999_999), true);
   * ```
   */
  has(index: number): boolean {
    let lo = 0, hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const [a, b] = this.ranges[mid]!;
      if (index < a) hi = mid;
      else if (index >= b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** The indices, ascending. */
  *[Symbol.iterator](): Iterator<number> {
    for (const [a, b] of this.ranges) for (let i = a; i < b; i++) yield i;
  }

  /**
   * The spec that selects exactly these tasks (`3,17:20`); `""` for none.
   *
   * @param maxRanges At most this many ranges, then `…` and how many more.
   * @returns The spec.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(TaskSet.of([1, 3, 5]).toString(2), "1,3,… (1 more range)");
   * ```
   */
  toString(maxRanges = Infinity): string {
    const shown = this.ranges.slice(0, maxRanges)
      .map(([a, b]) => b === a + 1 ? `${a}` : `${a}:${b}`).join(",");
    const more = this.ranges.length - Math.min(maxRanges, this.ranges.length);
    return more === 0 ? shown : `${shown},… (${more} more range${more === 1 ? "" : "s"})`;
  }

  /**
   * The spec, for `JSON.stringify`.
   *
   * @returns The same as {@linkcode TaskSet.toString}.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./task_set.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(JSON.stringify({ failed: TaskSet.of([2, 3]) }), '{"failed":"2:4"}');
   * ```
   */
  toJSON(): string {
    return this.toString();
  }
}
