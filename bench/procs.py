"""Processes the benchmark harness starts, watches and stops: each is started here,
remembered by PID, measured from /proc (its whole process tree, so a proxy's worker
processes count), and stopped by PID at the end whatever happened."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children():
    """Maps each PID to its child PIDs, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(pid):
    children = _children()
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid):
    """User + system CPU time of a process and all its descendants, in seconds."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLOCK_TICKS


def _status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid):
    return sum(_status_kb(member, "VmRSS") for member in process_tree(pid)) / 1024


def peak_rss_mb(pid):
    """The high-water mark of resident memory since start or the last reset_peak_rss."""
    return sum(_status_kb(member, "VmHWM") for member in process_tree(pid)) / 1024


def reset_peak_rss(pid):
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            pass


class RSSSampler:
    """Samples a process tree's resident memory every 50 ms while work runs."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.05)


class Service:
    """A server process: started, waited for until it says where it listens, stopped by PID."""

    started = []

    def __init__(self, name, argv, log_path, pattern=None, health_url=None, env=None, timeout=120):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.pid = self.proc.pid
        Service.started.append(self)
        self.port = None
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited early ({self.proc.returncode}):\n{self.tail()}")
            if pattern:
                match = re.search(pattern, open(log_path).read())
                if match:
                    self.port = int(match.group(1))
                    return
            elif health_url and _answers(health_url):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} did not start within {timeout} s:\n{self.tail()}")

    def tail(self, lines=30):
        try:
            return "".join(open(self.log_path).readlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the process (its whole process group, so workers go too) by PID."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    @classmethod
    def stop_all(cls):
        for service in reversed(cls.started):
            service.stop(timeout=10)
        cls.started.clear()


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except Exception:
        return False
