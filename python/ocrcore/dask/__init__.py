"""Batch OCR on a Dask cluster: millions of lines over many machines.

::

    from distributed import Client
    import ocrcore.dask

    client = Client("tcp://scheduler:8786")
    rows = ocrcore.dask.read_lines(paths, client=client)   # a dask.bag.Bag of dicts
    df = rows.to_dataframe()                   # path, text, confidence, rotation, error

Workers receive paths, never pixels: the images must be readable at the same path
on every worker (a shared file system, or the same copy on each). Each worker
process loads the model once and keeps it; each worker thread reads with its own
Recognizer running one thread, so a cluster started with ``--nthreads`` equal to its
cores never oversubscribes them. A worker that dies has its tasks run again
elsewhere by the scheduler; every line still comes out exactly once.

From the shell: ``python3 -m ocrcore.dask [--scheduler tcp://HOST:PORT] INPUTS... -o
OUT.tsv`` (``--help``).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, Union

import ocrcore
from ocrcore import _core

if TYPE_CHECKING:
    import dask.bag

__all__ = [
    "read_lines",
    "preload",
    "partition_size_for",
    "cluster_threads",
    "ROW_FIELDS",
    "DEFAULT_PARTITION_SIZE",
]

#: The fields of each row ``read_lines`` yields.
ROW_FIELDS = ("path", "text", "confidence", "rotation", "error")

#: Lines per task when the cluster's size is unknown. A task then takes about a
#: third of a second on one core with the compact model (~750 lines/s), so its
#: cost (about 8 ms of a worker's time, benchmarks/results/dask.md) is ~2% of it.
DEFAULT_PARTITION_SIZE = 256
#: Bounds of the partition size chosen from the job and the cluster.
MIN_PARTITION_SIZE, MAX_PARTITION_SIZE = 64, 4096
#: Tasks per worker thread the chosen size aims at: the job's tail (the last
#: tasks, while other threads have nothing left) stays near 1/16 of a task's time
#: per thread.
TASKS_PER_THREAD = 8


def partition_size_for(lines: int, threads: int) -> int:
    """The partition size for `lines` lines on `threads` worker threads.

    About TASKS_PER_THREAD tasks per thread (a short tail), within
    [MIN_PARTITION_SIZE, MAX_PARTITION_SIZE]: small enough tasks balance the
    load, large enough ones keep the cost of a task (about 8 ms of a worker's
    time, and the scheduler's own, about 2.5 ms) small against its lines.
    """
    wanted = -(-lines // max(1, threads * TASKS_PER_THREAD))
    return max(MIN_PARTITION_SIZE, min(MAX_PARTITION_SIZE, wanted))


def cluster_threads(client: Any) -> int:
    """Worker threads of the cluster `client` is connected to."""
    return sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())

PathLike = Union[str, "os.PathLike[str]"]
Line = Tuple[str, str, int]  # name in results, path to read, page (-1: the file's only image)

# Per worker process: models by (model path, language-model path), loaded once.
_models_lock = threading.Lock()
_models: Dict[Tuple[Optional[str], Optional[str]], Tuple[Any, Any]] = {}
# Per worker thread: its own Recognizer for each setting.
_thread_state = threading.local()


def _loaded(model: Optional[str], lm: Optional[str]) -> Tuple[Any, Any]:
    key = (model, lm)
    with _models_lock:
        if key not in _models:
            _models[key] = (
                ocrcore.Model.load(model),
                ocrcore.LanguageModel.load(lm) if lm is not None else None,
            )
        return _models[key]


def _recognizer(model: Optional[str], lm: Optional[str], options: Tuple[Tuple[str, Any], ...]):
    readers = getattr(_thread_state, "readers", None)
    if readers is None:
        readers = _thread_state.readers = {}
    key = (model, lm, options)
    reader = readers.get(key)
    if reader is None:
        loaded_model, loaded_lm = _loaded(model, lm)
        reader = ocrcore.Recognizer(loaded_model, lm=loaded_lm, threads=1, **dict(options))
        readers[key] = reader
    return reader


def _read_partition(
    lines: List[Line], model: Optional[str], lm: Optional[str], options: Tuple[Tuple[str, Any], ...]
) -> List[Dict[str, Any]]:
    """Reads one partition on a worker: one row per line, failures included."""
    reader = _recognizer(model, lm, options)
    images = [path if page < 0 else (path, page) for _, path, page in lines]
    rows = []
    for (name, _, _), result in zip(lines, reader.read_many(images, return_errors=True)):
        if isinstance(result, ocrcore.Error):
            rows.append({"path": name, "text": "", "confidence": math.nan, "rotation": 0,
                         "error": str(result)})
        else:
            rows.append({"path": name, "text": result.text, "confidence": result.confidence,
                         "rotation": result.rotation, "error": None})
    return rows


def _read_lines_task(
    chunk: List[List[Line]], model: Optional[str], lm: Optional[str], options: Tuple[Tuple[str, Any], ...]
) -> List[Dict[str, Any]]:
    """One task: the partition of lines the bag holds (one list of lines)."""
    return _read_partition([line for part in chunk for line in part], model, lm, options)


def _as_lines(paths: Iterable[Union[PathLike, Tuple[PathLike, int]]]) -> List[Line]:
    lines: List[Line] = []
    for item in paths:
        if isinstance(item, tuple):
            path, page = item
            name = os.fspath(path)
            lines.append((f"{name}#page={page + 1}", os.path.abspath(name), int(page)))
        else:
            name = os.fspath(item)
            lines.append((name, os.path.abspath(name), -1))
    return lines


def _absolute(path: Optional[PathLike]) -> Optional[str]:
    return None if path is None else os.path.abspath(os.fspath(path))


def read_lines(
    paths: Iterable[Union[PathLike, Tuple[PathLike, int]]],
    *,
    client: Any = None,
    model: Union[PathLike, "ocrcore.Model", None] = None,
    lm: Union[PathLike, "ocrcore.LanguageModel", None] = None,
    partition_size: Optional[int] = None,
    **recognizer_options: Any,
) -> dask.bag.Bag:
    """Reads text-line images on a Dask cluster; one row per input line.

    paths: line images (str or os.PathLike, as the workers see them; relative paths are
    made absolute against this process's directory), or (path, page) pairs for pages of
    multi-page TIFFs. Rows come in input order, each a dict with ``path`` (as given),
    ``text``, ``confidence``, ``rotation`` (degrees the image was turned clockwise to read
    it: 0, 90, 180 or 270) and ``error`` (None, or why the line could not be read: the rest
    are read regardless).

    model: a model file every worker can read (None: the bundled default model on each
    worker); an ocrcore.Model stands for its file. lm: a language model file for the beam
    decoder. recognizer_options: ocrcore.Recognizer's keyword arguments (decoder,
    beam_width, lm_weight, ...), except threads: each worker thread runs one.

    partition_size: lines per task; None chooses from the job and the cluster
    (partition_size_for with ``client``'s threads; DEFAULT_PARTITION_SIZE without a
    client). With ``client`` the work is submitted to it at once (client.persist);
    without, the bag is lazy and runs where it is computed (the default Dask client).

    Raises ocrcore.Error for a setting that cannot work (before anything runs).
    """
    if "threads" in recognizer_options:
        raise ocrcore.Error(
            "threads: each worker thread reads with one thread; choose the workers' "
            "--nthreads instead"
        )
    if partition_size is not None and (
        isinstance(partition_size, bool) or not isinstance(partition_size, int) or partition_size < 1
    ):
        raise ocrcore.Error(f"partition_size: must be a positive integer, got {partition_size!r}")
    if isinstance(model, ocrcore.Model):
        model = model.path
    if isinstance(lm, ocrcore.LanguageModel):
        raise ocrcore.Error("lm: give the language model's path (workers load it themselves)")
    lines = _as_lines(paths)
    if partition_size is None:
        partition_size = (
            partition_size_for(len(lines), cluster_threads(client))
            if client is not None
            else DEFAULT_PARTITION_SIZE
        )
    bag = _lines_bag(lines, _absolute(model), _absolute(lm), partition_size, recognizer_options)
    if client is not None:
        bag = client.persist(bag)
    return bag


def _preload_worker(model: Optional[str], lm: Optional[str]) -> int:
    return _loaded(model, lm)[0].parameter_count


def preload(
    client: Any,
    model: Union[PathLike, "ocrcore.Model", None] = None,
    lm: Optional[PathLike] = None,
) -> None:
    """Loads the model (and language model) on every worker of `client` now.

    Without it each worker loads them when its first task arrives; with it a
    long-lived cluster is ready before the first job (and a model no worker can
    read fails here, naming the file). Workers that join later load on first use.
    """
    if isinstance(model, ocrcore.Model):
        model = model.path
    client.run(_preload_worker, _absolute(model), _absolute(lm))


def _lines_bag(
    lines: List[Line],
    model: Optional[str],
    lm: Optional[str],
    partition_size: int,
    recognizer_options: Dict[str, Any],
) -> dask.bag.Bag:
    """The bag of rows of `lines`, `partition_size` lines per task, in input order."""
    # Imported here, not at the top: a worker running the tasks never needs
    # the collections (1.7 MB of a worker's memory).
    import dask
    import dask.bag

    options = tuple(sorted(recognizer_options.items()))
    partitions = [lines[i : i + partition_size] for i in range(0, len(lines), partition_size)]
    if not partitions:
        partitions = [[]]
    # Partitions run in input order (Dask otherwise orders them by the text of
    # their keys: 0, 1, 10, 11, ..., 2), so rows can be written as they come.
    with dask.annotate(priority=_input_order):
        return dask.bag.from_sequence(partitions, npartitions=len(partitions)).map_partitions(
            functools.partial(_read_lines_task, model=model, lm=lm, options=options)
        )


def _input_order(key: Any) -> int:
    return -key[1] if isinstance(key, tuple) and len(key) > 1 and isinstance(key[1], int) else 0


def expand_inputs(inputs: List[str]) -> List[Line]:
    """ocr-infer's inputs (files, directories, @lists, '-'), as (name, path, page) lines."""
    return _core.expand_line_inputs(inputs)
