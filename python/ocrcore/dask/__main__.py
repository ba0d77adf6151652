"""python3 -m ocrcore.dask: read text-line images on a Dask cluster into a TSV file.

Without --scheduler a local cluster runs on this machine (one worker process per
core, one thread each); with it, the cluster given does the work. Rows are written
in input order, one per input line (path, text, confidence, rotation, error), atomically when
the output is a file. Exit status: 0 when every line was read, 1 when some could not
be (each is reported and has its row) or the job failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from typing import IO, Any, Dict, List, Optional

import ocrcore
from ocrcore import _core
from ocrcore.dask import (
    MAX_PARTITION_SIZE,
    MIN_PARTITION_SIZE,
    Line,
    _absolute,
    _lines_bag,
    cluster_threads,
    expand_inputs,
    partition_size_for,
)

PROG = "python3 -m ocrcore.dask"
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Read text-line images with ocrcore on a Dask cluster: one TSV row "
        "(path, text, confidence, rotation, error) per input line, in input order.",
    )
    parser.add_argument("inputs", nargs="+", help="images, directories, @list files or -")
    parser.add_argument(
        "-o", "--output", default="-", help="TSV file to write (default: standard output)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running scheduler (tcp://HOST:PORT); without it a local cluster is started",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="local cluster: worker processes, one thread each (default: the cores)",
    )
    parser.add_argument(
        "-m", "--model", help="model file every worker can read (default: the bundled model)"
    )
    parser.add_argument("--lm", help="character language model for the beam decoder")
    parser.add_argument("--decoder", choices=["greedy", "beam"])
    parser.add_argument("--beam-width", type=int)
    parser.add_argument(
        "--partition-size",
        type=int,
        help="lines per task (default: about 8 tasks per worker thread, "
        f"{MIN_PARTITION_SIZE} to {MAX_PARTITION_SIZE} lines)",
    )
    parser.add_argument("--log", metavar="FILE", help="JSON-lines log of the job")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser


class _JsonLog:
    """The job's JSON-lines log (one event per line, flushed as it happens)."""

    def __init__(self, path: Optional[str]):
        self._file: Optional[IO[str]] = open(path, "w", encoding="utf-8") if path else None
        self._path = path

    def event(self, name: str, **fields: Any) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps({"event": name, "time": time.time(), **fields}) + "\n")
            self._file.flush()
        except OSError as e:
            raise ocrcore.Error(f"{self._path}: cannot write the log: {e.strerror}") from e

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _row(row: Dict[str, Any]) -> str:
    def clean(text: str) -> str:  # a TSV field holds no tab or line break
        return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")

    if row["error"] is not None:
        return f"{clean(row['path'])}\t\t\t\t{clean(row['error'])}\n"
    return (f"{clean(row['path'])}\t{clean(row['text'])}\t{row['confidence']:.4f}\t"
            f"{row['rotation']}\t\n")


def _connect(args: argparse.Namespace):
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler, timeout="30s"), None
    # The scheduler's HTTP server on a free port (the default, 8787, may be
    # taken by another cluster on this machine).
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster), cluster


def run(args: argparse.Namespace) -> int:
    from distributed import as_completed

    try:
        lines: List[Line] = expand_inputs(args.inputs)
        if not lines:
            raise ocrcore.Error("no input images (give files, directories, @list or -)")
        if args.workers < 1:
            raise ocrcore.Error(f"--workers: must be at least 1, got {args.workers}")
        if args.partition_size is not None and args.partition_size < 1:
            raise ocrcore.Error(f"--partition-size: must be at least 1, got {args.partition_size}")
        options: Dict[str, Any] = {}
        if args.decoder:
            options["decoder"] = args.decoder
        if args.beam_width is not None:
            options["beam_width"] = args.beam_width
        for name, path in (("--model", args.model), ("--lm", args.lm)):
            if path is not None and not os.path.isfile(path) and not args.scheduler:
                raise ocrcore.Error(f"{name} {path}: no such file")
    except ocrcore.Error as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_USAGE

    try:
        # Opened before any work: a path that cannot be written fails at once.
        output = _core.OutputFile(args.output)
        log = _JsonLog(args.log)
        output.write("path\ttext\tconfidence\trotation\terror\n")
    except (ocrcore.Error, OSError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_SOME_FAILED

    client, cluster = _connect(args)
    failed = 0
    start = time.monotonic()
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        threads = cluster_threads(client)
        partition_size = args.partition_size or partition_size_for(len(lines), threads)
        bag = _lines_bag(lines, _absolute(args.model), _absolute(args.lm), partition_size, options)
        futures = client.compute(bag.to_delayed(optimize_graph=False))
        index_of = {future.key: i for i, future in enumerate(futures)}
        log.event("start", lines=len(lines), partitions=len(futures), partition_size=partition_size,
                  workers=workers, threads=threads)
        progress = _core.Progress(len(lines), "lines", not args.quiet)
        ready: Dict[int, List[Dict[str, Any]]] = {}
        next_to_write, done = 0, 0
        # Results come in batches as tasks finish, fetched in the background.
        for future, rows in (pair for batch in as_completed(futures, with_results=True).batches()
                             for pair in batch):
            i = index_of[future.key]
            future.release()
            ready[i] = rows
            done += len(rows)
            progress.update(done)
            elapsed = time.monotonic() - start
            log.event(
                "partition", index=i, lines=len(rows), done=done, total=len(lines),
                elapsed_s=elapsed, lines_per_s=done / elapsed if elapsed > 0 else 0.0,
            )
            # Rows go out in input order as soon as the partitions before are in.
            while next_to_write in ready:
                for row in ready.pop(next_to_write):
                    if row["error"] is not None:
                        failed += 1
                        progress.finish()
                        message = row["error"]
                        if not message.startswith(row["path"]):
                            message = f"{row['path']}: {message}"
                        print(f"{PROG}: {message}", file=sys.stderr)
                        log.event("line_failed", path=row["path"], error=row["error"])
                    output.write(_row(row))
                if output.streams:
                    output.flush()
                next_to_write += 1
        progress.finish()
        output.commit()
    except ocrcore.Error as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except Exception as e:  # a task that failed for good (KilledWorker, a worker's error)
        print(f"{PROG}: the job failed: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_SOME_FAILED
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    elapsed = time.monotonic() - start
    rate = len(lines) / elapsed if elapsed > 0 else math.inf
    log.event("end", lines=len(lines), failed=failed, elapsed_s=elapsed, lines_per_s=rate)
    log.close()
    print(
        f"{PROG}: {len(lines)} lines, {len(lines) - failed} read, {failed} failed; "
        f"{elapsed:.2f} s, {rate:.1f} lines/s ({workers} worker{'' if workers == 1 else 's'})",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED if failed else EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    # The cluster's own chatter (worker start and stop) stays out of the way.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
