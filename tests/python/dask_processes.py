"""Real Dask processes on 127.0.0.1, as a user starts them, for the tests (test_dask.py)
and the benchmark (benchmarks/dask_throughput.py): a dask-scheduler and named
dask-worker processes of one thread each, without a nanny (a SIGKILL is final), each
logging to NAME.log in `directory`."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List


class DaskProcesses:
    def __init__(self, directory: Path):
        self.directory = directory
        self.processes: Dict[str, subprocess.Popen] = {}
        scheduler_file = directory / "scheduler.json"
        self._start("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                    "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file))
        # The scheduler creates its file and then writes it: wait for the whole of it.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
                break
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the scheduler did not start (see {directory}/scheduler.log)") from None
                time.sleep(0.05)

    def _start(self, name: str, module: str, *args: str) -> None:
        with open(self.directory / f"{name}.log", "w") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def add_workers(self, names: List[str]) -> None:
        """Starts the workers and waits until the scheduler has them all."""
        for name in names:
            self._start(name, "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                        "--no-nanny", "--no-dashboard", "--name", name,
                        "--local-directory", str(self.directory))
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(len(self.worker_names()), timeout=60)

    def worker_names(self) -> List[str]:
        return [n for n, p in self.processes.items() if n != "scheduler" and p.poll() is None]

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def kill(self, name: str) -> None:
        self.processes[name].kill()
        self.processes[name].wait()

    def close(self) -> None:
        # Workers first, while the scheduler still answers their goodbye; one
        # still waiting on it after 10 s is killed.
        for process in reversed(list(self.processes.values())):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
