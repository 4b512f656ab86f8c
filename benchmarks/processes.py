"""Child processes of the benchmark: started in the repository, read line by line, measured."""

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent


class Child:
    """A child process whose stdout lines and stderr lines are read by threads as they come."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start `argv` in the repository's root."""
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        self.stderr_lines: list[str] = []
        for stream, into in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            threading.Thread(target=_pump, args=(stream, into), daemon=True).start()

    def line(self, timeout: float, stream: str = "stdout") -> str:
        """The next line of one output; an error naming what the process said if none comes."""
        source = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return source.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and source.empty():
                    break
        while not self.stderr.empty():
            self.stderr_lines.append(self.stderr.get())
        said = "\n".join(self.stderr_lines[-15:])
        state = "ended" if self.process.poll() is not None else f"said nothing for {timeout} s"
        raise RuntimeError(f"{' '.join(map(str, self.process.args))} {state}:\n{said}")

    def ask(self, command: str, timeout: float = 30.0) -> Any:
        """Send one command line and read one JSON line back."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.line(timeout))

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii")
        after_name = fields.rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(after_name[11]) + int(after_name[12])) / ticks

    def peak_rss(self) -> int:
        """The process's peak resident memory in bytes (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError("no VmHWM in /proc/PID/status")
        return int(match.group(1)) * 1024

    def stop(self, sig: signal.Signals | None = None) -> None:
        """Close stdin (and send `sig`), then wait; kill it if it lingers."""
        if self.process.poll() is None:
            if self.process.stdin is not None:
                self.process.stdin.close()
            if sig is not None:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _pump(stream: IO[str] | None, into: "queue.Queue[str]") -> None:
    """Copy a child's output into a queue, line by line."""
    if stream is None:
        return
    for line in stream:
        into.put(line.rstrip("\n"))


@contextmanager
def child(argv: list[str], env: dict[str, str] | None = None, sig: Any = None) -> Iterator[Child]:
    """Run a child process for the duration of a block."""
    process = Child(argv, env)
    try:
        yield process
    finally:
        process.stop(sig)
