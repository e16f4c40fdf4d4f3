"""MQTT command -> wheels: our daemon beside the AWS sample's scripts/main.py, one broker.

    .venv/bin/python benchmarks/command_path.py --aws-sample PATH
    .venv/bin/python benchmarks/command_path.py --stages
    .venv/bin/python benchmarks/command_path.py --limiters

With ``--limiters``, only our daemon runs, in turn without and with its limiter stages (the
link speed table, measuring each command's ``ts``, and the obstacle guard reading the
simulated rangefinder 20 times a second), off / on / off / on, so that the two "off" runs show
the noise the "on" runs are judged against.

With ``--stages``, only our daemon runs, with stamps along its command path
(benchmarks/standin/stages.py): where the time goes from publishing to the motor call and
what the daemon still does after it, per stage, p50 and p99.

PATH is a checkout of aws-samples/aws-serverless-telepresence-robot (or its scripts/main.py);
it is run as it is. Both robots run in turn on the same local mosquitto (mutual TLS), with
the same SDK, as the same thing, and their ``explorerhat`` calls land in an instrumented
stand-in (benchmarks/standin/) that reports when each call is entered. Our daemon drives the
Explorer HAT board, with the default ramp limits. The sample hard-codes port 443: the
stand-in folder's sitecustomize points its client at the broker's port, nothing else.
Figures are printed beside their targets; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import cpu_seconds
from robot.posix.processes import stop_child
from sim.aws.certs import SimCerts, make_certs
from sim.aws.iot_core import Broker
from sim.stack import robot_config, sim_guard_config
from tests.support.mqtt import connected

ROOT = Path(__file__).resolve().parent.parent
STANDIN = Path(__file__).resolve().parent / "standin"
THING = "bench-robot"
Call = tuple[float, str, float]  # (time.time() when entered, call, value)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Wheels:
    """The stand-in's reports, as they arrive."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.calls: queue.Queue[Call] = queue.Queue()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            at, name, value = self.socket.recv(256).decode().split()
            self.calls.put((float(at), name, float(value)))

    def first_after(self, since: float, wanted: Callable[[Call], bool] = lambda c: True) -> Call:
        """The first call entered at or after ``since`` that is ``wanted``."""
        while True:
            call = self.calls.get(timeout=30)
            if call[0] >= since and wanted(call):
                return call

    def quiet(self, seconds: float = 0.5) -> None:
        """Wait until no call came for ``seconds``, dropping what came."""
        while True:
            try:
                self.calls.get(timeout=seconds)
            except queue.Empty:
                return


@contextmanager
def running(
    command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    try:
        yield process
    finally:
        stop_child(process)


class Bench:
    def __init__(self, publisher, wheels: Wheels, stamped: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.publisher = publisher
        self.wheels = wheels
        self.stamped = stamped  # each command carries its sender's clock, ``ts``

    def send(self, command: dict) -> float:
        sent = time.time()
        if self.stamped:
            command = {**command, "ts": int(sent * 1000)}
        self.publisher.publish(f"{THING}/action", json.dumps(command), 1)
        return sent

    def ready(self, log: Path) -> None:
        """Send stops until the robot acts on one: it is connected and subscribed."""
        for _ in range(300):
            self.send({"action": "stop"})
            try:
                self.wheels.calls.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        else:
            sys.exit(f"the robot never moved a motor; its log:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
        self.wheels.quiet()

    def sparse(self, count: int, gap_s: float) -> list[float]:
        """ms from publishing to the first motor call, one command every ``gap_s``."""
        latencies = []
        for i in range(count):
            sent = self.send({"action": "forward" if i % 2 == 0 else "stop"})
            latencies.append((self.wheels.first_after(sent)[0] - sent) * 1000)
            time.sleep(gap_s)
            self.wheels.quiet(0.05)
        return latencies

    def burst(self, last_call: Callable[[Call], bool]) -> float:
        """ms from publishing the last of 50 commands at 50 Hz to the call it caused."""
        self.wheels.quiet()
        start = time.monotonic()
        for i in range(49):
            self.send({"action": "forward"})
            time.sleep(max(0.0, start + (i + 1) / 50 - time.monotonic()))
        sent = self.send({"action": "backwards"})
        return (self.wheels.first_after(sent, last_call)[0] - sent) * 1000

    def estop(self, count: int) -> list[float]:
        """ms from publishing an e-stop, wheels turning, to both wheels told zero."""
        latencies = []
        for _ in range(count):
            self.send({"action": "forward", "ttl_ms": 5000})
            time.sleep(0.3)  # ramped up
            self.wheels.quiet(0.05)
            sent = self.send({"action": "estop"})
            zeros = set()
            while zeros != {"one", "two"}:
                at, name, _ = self.wheels.first_after(sent, lambda c: c[2] == 0)
                zeros.add(name.split(".")[0])
            latencies.append((at - sent) * 1000)
            self.send({"action": "clear_estop"})
            self.wheels.quiet(0.05)
        return latencies

    def idle_cpu(self, pid: int, seconds: float) -> float:
        before = cpu_seconds(pid)
        time.sleep(seconds)
        return (cpu_seconds(pid) - before) / seconds * 100


class Stages:
    """The stamps our daemon's command path sends (benchmarks/standin/stages.py)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.socket.settimeout(30)

    def next(self) -> dict[str, float]:
        return json.loads(self.socket.recv(4096))

    def drain(self) -> None:
        self.socket.setblocking(False)
        try:
            while True:
                self.socket.recv(4096)
        except BlockingIOError:
            pass
        finally:
            self.socket.settimeout(30)


def stage_breakdown(bench: Bench, stages: Stages, count: int) -> dict[str, list[float]]:
    """ms spent in each stage of ``count`` sparse commands, in the order they happen."""
    spent: dict[str, list[float]] = {}
    for i in range(count):
        stages.drain()
        sent = bench.send({"action": "forward" if i % 2 == 0 else "stop"})
        motor = bench.wheels.first_after(sent)[0]
        stamps = {"published": sent, **stages.next(), "first motor call": motor}
        ordered = sorted(stamps.items(), key=lambda item: item[1])
        for (before, at_before), (after, at_after) in itertools.pairwise(ordered):
            spent.setdefault(f"{before} -> {after}", []).append((at_after - at_before) * 1000)
        for start in ("published", "sdk callback"):  # the sums that matter
            total = f"total: {start} -> first motor call"
            spent.setdefault(total, []).append((motor - stamps[start]) * 1000)
        time.sleep(0.3)
        bench.wheels.quiet(0.05)
    return spent


def run_stages(count: int) -> None:
    wheels, stages = Wheels(), Stages()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        certs = make_certs(work / "certs", THING)
        env = standin_env(wheels, STANDIN_STAGES_PORT=str(stages.port))
        with Broker(work / "broker", certs, THING) as broker:
            config = write_our_config(work, broker, certs)
            with connected(broker, certs.publisher) as publisher:
                bench = Bench(publisher, wheels)
                with running(our_robot(config), ROOT, env, work / "robot.log"):
                    bench.ready(work / "robot.log")
                    spent = stage_breakdown(bench, stages, count)
    print(f"our daemon's command path, {count} sparse commands (ms, in the order they happen):")
    print(f"  {'stage':<52} {'p50':>8} {'p99':>8}")
    # Stages in the order of their median start; the rarer orders show up as extra rows.
    for stage, values in sorted(spent.items(), key=lambda item: -len(item[1])):
        share = "" if len(values) == count else f"   ({len(values)} of {count})"
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {stage:<52} {p50:>8.3f} {p99:>8.3f}{share}")


def standin_env(wheels: Wheels, **extra: str) -> dict[str, str]:
    """The environment of a robot process whose explorerhat is the instrumented stand-in."""
    return {
        **{k: v for k, v in os.environ.items() if k != "MOTOR_DRIVER"},
        "PYTHONPATH": os.pathsep.join([str(STANDIN), str(ROOT)]),
        "STANDIN_REPORT_PORT": str(wheels.port),
        **extra,
    }


def write_our_config(
    work: Path, broker: Broker, certs: SimCerts, settings: dict | None = None
) -> Path:
    """Our daemon's config.json: the Explorer HAT board (the stand-in), default limits, and
    ``settings`` over them."""
    config = robot_config(THING, broker.port, certs)
    config.update({"MOTOR_DRIVER": "explorerhat", "STATE_DIR": str(work / "state")})
    config.update(settings or {})
    config["TELEMETRY_INTERVAL_MS"] = 1000
    path = work / "config.json"
    path.write_text(json.dumps(config))
    return path


def our_robot(config: Path) -> list[str]:
    return [sys.executable, "-m", "robot.cli", "run", "--config", str(config)]


def sample_folder(work: Path, certs: SimCerts, main_py: Path) -> Path:
    """The sample's working folder as its README sets it up: config.json and certs/."""
    folder = work / "aws-sample"
    (folder / "certs").mkdir(parents=True)
    shutil.copy(main_py, folder / "main.py")
    shutil.copy(certs.ca, folder / "certs" / "cacert.pem")
    shutil.copy(certs.robot.cert, folder / "certs" / "certificate.pem")
    shutil.copy(certs.robot.key, folder / "certs" / "private.pem.key")
    config = {
        "IOT_CORE_ENDPOINT": "localhost",
        "IOT_THINGNAME": THING,
        "IOT_GET_CREDENTIAL_ENDPOINT": "",
        "ROLE_ALIAS": "",
        "AWS_DEFAULT_REGION": "",
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def row(name: str, ours: str, sample: str, target: str) -> None:
    print(f"  {name:<44} {ours:>12} {sample:>12}   {target}")


def limiter_settings(work: Path) -> dict[str, dict]:
    """The limiter stages off, and on: the default link table and the obstacle guard on the
    simulated rangefinder (no sim board here: it sees the room from the start, nothing in
    range, so it measures and judges every reading but never holds the wheels back)."""
    guard = sim_guard_config(work / "no-sim-board.json")
    return {"off": {"LINK_SPEED_LIMITS": [], "OBSTACLE_GUARD": {}}, "on": guard}


def run_limiters(count: int) -> None:
    wheels = Wheels()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        certs = make_certs(work / "certs", THING)
        settings = limiter_settings(work)
        with (
            Broker(work / "broker", certs, THING) as broker,
            connected(broker, certs.publisher) as publisher,
        ):
            bench = Bench(publisher, wheels, stamped=True)
            for run, state in enumerate(["off", "on", "off", "on"]):
                config = write_our_config(work, broker, certs, settings[state])
                log = work / f"robot-{run}.log"
                with running(our_robot(config), ROOT, standin_env(wheels), log):
                    bench.ready(log)
                    results.setdefault(state, []).append(percentile(bench.sparse(count, 0.3), 50))
    off, on = results["off"], results["on"]
    noise = abs(off[0] - off[1])
    change = sum(on) / 2 - sum(off) / 2
    print(f"MQTT command -> motor call, p50 of {count} sparse commands per run (ms):")
    print(f"  limiters off: {off[0]:.3f}, {off[1]:.3f}   on: {on[0]:.3f}, {on[1]:.3f}")
    verdict = "within noise" if abs(change) <= noise else "beyond noise"
    print(
        f"  on - off: {change:+.3f} ms; noise (off - off): {noise:.3f} ms -> {verdict}"
        "   target: unchanged within noise"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws-sample", type=Path, help="its checkout or main.py")
    parser.add_argument("--stages", action="store_true", help="our command path, per stage")
    parser.add_argument("--limiters", action="store_true", help="limiter stages off and on")
    parser.add_argument("--count", type=int, default=100, help="sparse commands per robot")
    args = parser.parse_args()
    if args.limiters:
        run_limiters(args.count)
        return
    if args.stages:
        run_stages(args.count)
        return
    if args.aws_sample is None:
        parser.error("--aws-sample PATH is needed to run beside the AWS sample")
    main_py = args.aws_sample
    if main_py.is_dir():
        main_py = main_py / "scripts" / "main.py"
    if not main_py.is_file():
        parser.error(f"no scripts/main.py at {args.aws_sample}")

    wheels = Wheels()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        certs = make_certs(work / "certs", THING)
        env = standin_env(wheels)
        with Broker(work / "broker", certs, THING) as broker:
            robot = our_robot(write_our_config(work, broker, certs))
            sample = [sys.executable, "main.py"]
            sample_env = {**env, "STANDIN_BROKER_PORT": str(broker.port)}
            results: dict[str, dict[str, object]] = {}
            with connected(broker, certs.publisher) as publisher:
                bench = Bench(publisher, wheels)
                with running(robot, ROOT, env, work / "robot.log") as process:
                    bench.ready(work / "robot.log")
                    results["ours"] = {
                        "sparse": bench.sparse(args.count, 0.3),
                        "burst": max(bench.burst(lambda c: True) for _ in range(3)),
                        "estop": bench.estop(args.count),
                        "idle": bench.idle_cpu(process.pid, 10),
                    }
                folder = sample_folder(work, certs, main_py)
                with running(sample, folder, sample_env, work / "sample.log") as process:
                    bench.ready(work / "sample.log")
                    results["sample"] = {
                        "sparse": bench.sparse(args.count, 0.3),
                        # it handles one message at a time, each followed by a 0.2 s sleep
                        "burst": bench.burst(lambda c: c[1] == "motor.backwards"),
                        "idle": bench.idle_cpu(process.pid, 10),
                    }
    ours, theirs = results["ours"], results["sample"]
    print(f"MQTT command -> motor call, {args.count} sparse commands each, same broker and SDK:")
    row("", "ours", "AWS sample", "target")
    for q in (50, 99):
        row(
            f"sparse command -> motor call, p{q}",
            f"{percentile(ours['sparse'], q):.2f} ms",
            f"{percentile(theirs['sparse'], q):.2f} ms",
            "p50 <= 1.5 ms and <= the sample's" if q == 50 else "",
        )
    row(
        "50 at 50 Hz: last sent -> acted on",
        f"{ours['burst']:.2f} ms",
        f"{theirs['burst']:.0f} ms",
        "<= 5 ms (ours: worst of 3)",
    )
    row("e-stop -> both wheels at zero, p50", f"{percentile(ours['estop'], 50):.2f} ms", "-", "")
    row(
        "e-stop -> both wheels at zero, p99",
        f"{percentile(ours['estop'], 99):.2f} ms",
        "(none)",
        "<= 2 ms",
    )
    row("idle CPU (ours: ramping on)", f"{ours['idle']:.2f} %", f"{theirs['idle']:.2f} %", "<= 1 %")


if __name__ == "__main__":
    main()
