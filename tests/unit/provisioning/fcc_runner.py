"""Send a case's steps to the real factory client or to the virtual board's handler."""

from __future__ import annotations

from pathlib import Path

from fcc_cases import RESTART

from harness.provisioning import FactoryDevice, ItemStore
from harness.provisioning.clock import DeviceClock
from harness.provisioning.frame import encode_request
from harness.provisioning.real_client import RealFactoryClient

Answers = list[bytes | None]  # one response frame per step (None: link closed, no answer)


def run_virtual(steps: list[bytes], store: ItemStore | None = None) -> Answers:
    """The virtual board's answers; like the real process it stops after a session ends."""
    store = store if store is not None else ItemStore()
    device = FactoryDevice(store, DeviceClock())
    answers: Answers = []
    for step in steps:
        if step == RESTART:
            device = FactoryDevice(store, DeviceClock())
            answers.append(None)
            continue
        if device.sessions_finished:
            answers.append(None)  # the factory flow is over: nothing reads the port any more
            continue
        answers.append(device.feed(encode_request(step)) or None)
    return answers


def run_real(steps: list[bytes], workdir: Path | None = None,
             client: RealFactoryClient | None = None,
             exit_wait: float = 2.0) -> tuple[Answers, int | None]:
    """The real client's answers and its exit code (a fresh process unless `client` is given;
    a client still in its session does not exit: `exit_wait` 0 skips waiting for it)."""
    own = client is None
    client = client or RealFactoryClient(workdir)
    answers: Answers = []
    try:
        if own:
            client.start()
        for step in steps:
            if step == RESTART:
                client.close()
                client.wait_exit(5)
                client.stop()
                client.start()
                answers.append(None)
                continue
            if client.proc is None or client.proc.poll() is not None:
                answers.append(None)
                continue
            frame = client.exchange(step)
            answers.append(None if frame is None else _frame_bytes(frame))
            if frame is None:
                break
        client.close()
        code = client.wait_exit(exit_wait) if exit_wait else None
        return answers + [None] * (len(steps) - len(answers)), code
    finally:
        if own:
            client.remove()


def _frame_bytes(frame) -> bytes:
    from harness.provisioning.frame import encode_response

    return encode_response(frame.status, frame.message)
