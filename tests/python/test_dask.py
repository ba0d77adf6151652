"""A real dask-scheduler and two dask-worker processes on 127.0.0.1 read rendered lines
as ocr-infer does, and still read every line exactly once when a worker is killed."""

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest

import ocrcore
from conftest import SOURCE_DIR, ocr_infer_tsv, python_module_command
from dask_processes import DaskProcesses

distributed = pytest.importorskip("distributed")
import ocrcore.dask  # noqa: E402  (needs distributed)

TEACHER = SOURCE_DIR / "models" / "teacher-printed.ocrm"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = DaskProcesses(tmp_path_factory.mktemp("cluster"))
    try:
        c.add_workers(["worker-1", "worker-2"])
        yield c
    finally:
        c.close()


def read_tsv(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["path", "text", "confidence", "rotation", "error"]
    return rows[1:]


def check_rows_match(rows, expected):
    """Every input line exactly once, in input order, read as ocr-infer read it."""
    assert [r[0] for r in rows] == [e[0] for e in expected]
    assert len({r[0] for r in rows}) == len(rows)
    for row, line in zip(rows, expected):
        assert row[4] == "", row
        assert row[1:4] == line[1:4], (row, line)


def test_cluster_reads_as_ocr_infer(cluster, rendered_lines, tmp_path):
    inputs = [str(rendered_lines)]
    expected = ocr_infer_tsv(inputs, "-t", "2")
    assert len(expected) >= 500
    out = tmp_path / "out.tsv"
    done = subprocess.run(
        python_module_command("ocrcore.dask", "--scheduler", cluster.address, *inputs,
                              "-o", str(out), "--partition-size", "64", "-q"),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    check_rows_match(read_tsv(out), expected)

    # The library call: a bag on the cluster, rows as dicts.
    with distributed.Client(cluster.address) as client:
        ocrcore.dask.preload(client)
        with pytest.raises(ocrcore.Error, match="nowhere.ocrm"):
            ocrcore.dask.preload(client, model=tmp_path / "nowhere.ocrm")
        paths = [e[0] for e in expected[:200]]
        rows = ocrcore.dask.read_lines(paths, client=client, partition_size=50).compute()
    assert [r["path"] for r in rows] == paths
    assert [r["text"] for r in rows] == [e[1] for e in expected[:200]]
    assert all(r["error"] is None for r in rows)


def test_failed_lines_are_reported_and_the_rest_read(cluster, rendered_lines, tmp_path):
    good = sorted(str(p) for p in rendered_lines.glob("*.png"))[:20]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(good[:10] + [str(broken)] + good[10:]) + "\n")
    out = tmp_path / "out.tsv"
    done = subprocess.run(
        python_module_command("ocrcore.dask", "--scheduler", cluster.address, f"@{listing}",
                              "-o", str(out), "--partition-size", "8", "-q"),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "broken.png" in done.stderr
    rows = read_tsv(out)
    assert len(rows) == 21
    assert rows[10][0] == str(broken) and "broken.png" in rows[10][4]
    expected = ocr_infer_tsv(good, "-t", "2")
    check_rows_match(rows[:10] + rows[11:], expected)


def test_a_model_the_workers_cannot_read_fails_the_job(cluster, tmp_path):
    out = tmp_path / "out.tsv"
    done = subprocess.run(
        python_module_command("ocrcore.dask", "--scheduler", cluster.address,
                              str(SOURCE_DIR / "models" / "samples"), "-m",
                              str(tmp_path / "nowhere.ocrm"), "-o", str(out), "-q"),
        capture_output=True, text=True, timeout=300)
    # The workers' ocrcore.Error, naming the file, stops the job; no output.
    assert done.returncode == 1
    assert "nowhere.ocrm: cannot open" in done.stderr, done.stderr
    assert not out.exists()


def test_usage_errors(tmp_path):
    done = subprocess.run(python_module_command("ocrcore.dask", str(tmp_path / "none")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "none" in done.stderr
    with pytest.raises(ocrcore.Error, match="threads"):
        ocrcore.dask.read_lines(["a.png"], threads=2)
    with pytest.raises(ocrcore.Error, match="partition_size"):
        ocrcore.dask.read_lines(["a.png"], partition_size=0)


@pytest.mark.skipif(not TEACHER.exists(), reason="models/teacher-printed.ocrm absent")
def test_killed_worker_loses_no_line_and_duplicates_none(cluster, rendered_lines, tmp_path):
    # The teacher reads several times slower than the compact model: the job
    # is still running when a worker dies.
    cluster.add_workers(["worker-3"])
    inputs = [str(rendered_lines)]
    expected = ocr_infer_tsv(inputs, "-t", "2", "-m", str(TEACHER))
    out, log = tmp_path / "out.tsv", tmp_path / "log.jsonl"
    job = subprocess.Popen(
        python_module_command("ocrcore.dask", "--scheduler", cluster.address, *inputs,
                              "-m", str(TEACHER), "-o", str(out), "--partition-size", "8",
                              "--log", str(log), "-q"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Kill a worker once the job is under way (some lines done, most not).
    deadline = time.monotonic() + 120
    done_at_kill = 0
    while done_at_kill == 0:
        assert time.monotonic() < deadline and job.poll() is None, "the job never started"
        if log.exists():
            events = [json.loads(l) for l in log.read_text().splitlines() if l.endswith("}")]
            done_at_kill = max([e.get("done", 0) for e in events] + [0])
        time.sleep(0.02)
    cluster.kill("worker-1")
    stdout, stderr = job.communicate(timeout=300)
    assert job.returncode == 0, stderr
    assert done_at_kill < len(expected) // 2, "the worker died too late to test anything"
    check_rows_match(read_tsv(out), expected)


def test_partition_size_follows_job_and_cluster():
    size = ocrcore.dask.partition_size_for
    assert size(4000, 2) == 250  # 8 tasks per thread
    assert size(100, 2) == ocrcore.dask.MIN_PARTITION_SIZE  # never tiny tasks
    assert size(10**9, 4) == ocrcore.dask.MAX_PARTITION_SIZE
    assert size(0, 0) == ocrcore.dask.MIN_PARTITION_SIZE
