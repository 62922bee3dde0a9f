"""CoAP Block1 (RFC 7959) the way the Device Management Client's mbed-coap does it, both ends.

The client (protocol facts 3.1, point 3) accepts at most 512-byte blocks; block n only when block
n-1 came from the same peer with the same token; a lone last block is the whole body. It sends
its own bodies as 512-byte blocks with one token, two blocks in flight. aiocoap's own block-wise
client starts at 1024 bytes, takes a 4.13 for a 2.31 and uses a new token per block, so neither
end uses it for Block1:

- `send_blockwise(context, request, ...)`: one body as Block1 blocks with ONE token; restarts at
  block 0 with the smaller size when the peer answers 4.13 with a Block1 size; `window=2` keeps two
  blocks in flight (the real client's pipelining). Works on any aiocoap Context whose transports
  are token-managed (udp, and the harness's tls-record / tcp-length).
- `Block1Receiver`: the receiving rules (4.13 / 4.08 / 2.31 / assembled request) for a site.
- `answer_blocks_in_order(context)`: a server Context serves a client's pipelined blocks (one
  token, two in flight) one after the other instead of dropping the earlier one.
"""

from __future__ import annotations

import asyncio
import collections
import os
from dataclasses import dataclass, field
from typing import Any

import aiocoap
from aiocoap import Code, Message
from aiocoap.numbers.types import Type

MAX_BLOCK_SIZE = 512
"""SN_COAP_MAX_BLOCKWISE_PAYLOAD_SIZE of the client's build."""

TOKEN_LENGTH = 4


def size_exponent(size: int) -> int:
    """The SZX of a block size 16..1024 (512 -> 5)."""
    if size not in (16, 32, 64, 128, 256, 512, 1024):
        raise ValueError(f"block size {size} is not a power of two between 16 and 1024")
    return size.bit_length() - 5


class BlockTransferError(aiocoap.error.NetworkError):
    """A block-wise transfer that could not finish (peer gone, no answer, protocol breach)."""


# --------------------------------------------------------------------------- sending


@dataclass
class _Transfer:
    """Responses of one token while its blocks are in flight, and its failure (peer gone)."""

    responses: asyncio.Queue = field(default_factory=asyncio.Queue)
    failed: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def fail(self, exc: BaseException) -> None:
        """End the transfer with `exc` (first failure wins)."""
        if not self.failed.done():
            self.failed.set_exception(exc)


def _route_responses(manager: Any) -> dict[tuple[bytes, Any], _Transfer]:
    """The per-TokenManager table of running transfers; their responses and connection errors
    are routed there before aiocoap's own request bookkeeping (which knows one request per token)."""
    table = manager.__dict__.get("_block1_transfers")
    if table is None:
        table = {}
        original_response = manager.process_response
        original_error = manager.dispatch_error

        def process_response(response: Message) -> bool:
            transfer = table.get((response.token, response.remote))
            if transfer is None:
                return original_response(response)
            transfer.responses.put_nowait(response)
            return True

        def dispatch_error(exception: Exception, remote: Any) -> None:
            for (_token, transfer_remote), transfer in list(table.items()):
                if transfer_remote == remote:
                    transfer.fail(exception)
            original_error(exception, remote)

        manager._block1_transfers = table
        manager.process_response = process_response
        manager.dispatch_error = dispatch_error
    return table


class _Restart(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


async def send_blockwise(context: aiocoap.Context, request: Message, *,
                         block_size: int = MAX_BLOCK_SIZE, window: int = 1,
                         timeout: float = 30.0) -> Message:
    """Send `request` (remote or uri set); a body over `block_size` goes as Block1 blocks with one
    token. Returns the final response (the one to the last block, or any error answer)."""
    size = block_size
    async with asyncio.timeout(timeout):
        force_blocks = False
        while True:
            try:
                if len(request.payload) <= size and not force_blocks:
                    return await _send_whole(context, request)
                return await _send_blocks(context, request, size, window)
            except _Restart as restart:
                if restart.size >= size and (force_blocks or len(request.payload) > size):
                    raise BlockTransferError(
                        f"peer answered 4.13 asking for {restart.size}-byte blocks while "
                        f"{size}-byte blocks were sent; cannot go smaller") from None
                size, force_blocks = restart.size, True


def _too_large_size(response: Message) -> int | None:
    """The block size a 4.13 answer asks for (its Block1 option), if any."""
    if response.code == Code.REQUEST_ENTITY_TOO_LARGE and response.opt.block1 is not None:
        return response.opt.block1.size
    return None


async def _send_whole(context: aiocoap.Context, request: Message) -> Message:
    response = await context.request(request.copy(), handle_blockwise=False).response
    wanted = _too_large_size(response)
    if wanted is not None and request.payload:
        raise _Restart(wanted)
    return response


async def _send_blocks(context: aiocoap.Context, request: Message, size: int, window: int) -> Message:
    payload = bytes(request.payload)
    count = max(1, -(-len(payload) // size))
    szx = size_exponent(size)
    token = os.urandom(TOKEN_LENGTH)
    first = _block_message(request, b"", token, None)
    manager = await context.find_remote_and_interface(first)
    sender = getattr(manager, "token_interface", None)
    if sender is None or not hasattr(manager, "process_response"):
        raise BlockTransferError("this aiocoap transport is not token-managed; cannot send blocks")
    remote = first.remote
    table = _route_responses(manager)
    key = (token, remote)
    transfer = _Transfer()
    failed = transfer.failed
    cancellers = []
    table[key] = transfer

    def on_error() -> None:
        transfer.fail(BlockTransferError(f"block {sent - 1} got no answer"))

    sent = 0
    in_flight = 0

    def send_next() -> None:
        nonlocal sent, in_flight
        number = sent
        chunk = payload[number * size:(number + 1) * size]
        more = number + 1 < count
        block = _block_message(request, chunk, token, (number, more, szx))
        if number == 0:
            block.opt.size1 = len(payload)
        block.remote = remote
        if in_flight == 0:
            canceller = sender.send_message(block, on_error)
            if canceller is not None:
                cancellers.append(canceller)
        else:
            _send_beside(sender, block, on_error)
        sent += 1
        in_flight += 1

    try:
        for _ in range(min(window, count)):
            send_next()
        while True:
            getter = asyncio.ensure_future(transfer.responses.get())
            done, _ = await asyncio.wait({getter, failed}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:  # a response that came before the failure still counts
                getter.cancel()
                failed.result()
            response: Message = getter.result()
            block1 = response.opt.block1
            if response.code == Code.CONTINUE and block1 is not None:
                in_flight = max(0, in_flight - 1)
                if block1.size < size:
                    raise _Restart(block1.size)
                if sent < count:
                    send_next()
                continue
            wanted = _too_large_size(response)
            if wanted is not None and wanted < size:
                raise _Restart(wanted)
            return response
    finally:
        table.pop(key, None)
        for cancel in cancellers:
            cancel()
        if failed.done():
            failed.exception()  # retrieved: a late connection error is no news
        else:
            failed.cancel()


def _block_message(request: Message, chunk: bytes, token: bytes,
                   block1: tuple[int, bool, int] | None) -> Message:
    """One CON block of `request` with `token`: a new message sharing the request's option
    values (Message.copy deep-copies every option, per block)."""
    block = Message(code=request.code, payload=chunk,
                    transport_tuning=request.transport_tuning)
    block.mtype = Type.CON
    block.token = token
    block.direction = request.direction
    block.remote = request.remote
    for option in request.opt.option_list():
        block.opt.add_option(option)
    if block1 is not None:
        block.opt.block1 = block1
    return block


def _send_beside(messages: Any, block: Message, on_error: Any) -> None:
    """Send a CON while another one to the same peer is unanswered (the client's pipelining).

    aiocoap's message layer keeps NSTART=1 (a second CON waits for the first one's ACK); the real
    client does not for its Register blocks, so the board puts this one on the wire at once, with
    its own message id and retransmission like any CON.
    """
    block.mid = messages._next_message_id()
    messages._send_initially(block, on_error)


# --------------------------------------------------------------------------- receiving

HOLD_LIMIT = 10.0
"""Seconds a block waits for the answer to the block before it, at most."""


def answer_blocks_in_order(context: aiocoap.Context) -> None:
    """Serve a client's pipelined Block1 requests one after the other.

    The Device Management Client keeps two blocks of its Register body in flight with one token,
    so block 1 may arrive (even in the same TCP read) before the 2.31 for block 0. aiocoap keys an
    incoming request by token: a second one with the same token drops the first and its ACK, and
    the client then waits for ever. Here a Block1 request whose token is still being answered
    waits until that answer has been sent.
    """
    for manager in context.request_interfaces:
        messages = getattr(manager, "token_interface", None)
        if messages is None or "_held_blocks" in messages.__dict__:
            continue
        _hold_blocks(messages)


def _hold_blocks(messages: Any) -> None:
    held: dict[tuple[object, bytes], collections.deque[Message]] = {}
    busy: dict[tuple[object, bytes], float] = {}
    process = messages._process_request
    send = messages.send_message
    loop = asyncio.get_running_loop()

    def key_of(message: Message) -> tuple[object, bytes]:
        return (getattr(message.remote, "blockwise_key", message.remote), bytes(message.token))

    def process_request(request: Message) -> None:
        if request.opt.block1 is not None:
            key = key_of(request)
            since = busy.get(key)
            if since is not None and loop.time() - since < HOLD_LIMIT:
                held.setdefault(key, collections.deque()).append(request)
                return
            busy[key] = loop.time()
        process(request)

    def send_message(message: Message, monitor: Any) -> Any:
        result = send(message, monitor)
        if message.code.is_response():
            key = key_of(message)
            if key in busy:
                waiting = held.get(key)
                if waiting:
                    loop.call_soon(_release, key)
                else:
                    held.pop(key, None)
                    del busy[key]
        return result

    def _release(key: tuple[object, bytes]) -> None:
        waiting = held.get(key)
        busy.pop(key, None)
        if waiting:
            process_request(waiting.popleft())

    messages._held_blocks = held
    messages._process_request = process_request
    messages.send_message = send_message




@dataclass
class _Assembly:
    token: bytes
    next_block: int
    body: bytearray


class Block1Receiver:
    """mbed-coap's receiving rules for Block1 requests (one instance per served site)."""

    def __init__(self, max_size: int = MAX_BLOCK_SIZE) -> None:
        """Accept blocks of at most `max_size` bytes (and whole requests up to that size)."""
        self.max_size = max_size
        self.max_szx = size_exponent(max_size)
        self._assemblies: dict[tuple[Any, bytes], _Assembly] = {}

    def _too_large(self, number: int, more: bool) -> Message:
        # as the real client answers (seen on its trace): Block1 with SZX 512, no Size1
        answer = Message(code=Code.REQUEST_ENTITY_TOO_LARGE)
        answer.opt.block1 = (number, more, self.max_szx)
        return answer

    def feed(self, request: Message) -> Message:
        """The request to serve (whole or assembled), or an answer to send instead (2.31, 4.08,
        4.13): check `is_answer(result)`."""
        block1 = request.opt.block1
        if block1 is None:
            if len(request.payload) > self.max_size:
                return self._too_large(0, True)
            return request
        if block1.size_exponent > self.max_szx:
            return self._too_large(block1.block_number, block1.more)
        peer = getattr(request.remote, "blockwise_key", request.remote)
        key = (peer, bytes(request.token))
        number = block1.block_number
        if number == 0:
            assembly = _Assembly(bytes(request.token), 0, bytearray())
            self._assemblies[key] = assembly
        else:
            assembly = self._assemblies.get(key)
            if assembly is None and not block1.more:
                # a lone last block: mbed-coap hands it up as the whole body
                return request.copy(payload=bytes(request.payload), block1=None)
            if assembly is None or assembly.next_block != number:
                incomplete = Message(code=Code.REQUEST_ENTITY_INCOMPLETE)
                incomplete.opt.block1 = (number, block1.more, block1.size_exponent)
                return incomplete
        assembly.body += bytes(request.payload[:block1.size])
        assembly.next_block = number + 1
        if block1.more:
            answer = Message(code=Code.CONTINUE)
            answer.opt.block1 = (number, True, block1.size_exponent)
            return answer
        del self._assemblies[key]
        return request.copy(payload=bytes(assembly.body), block1=None)


def is_answer(result: Message) -> bool:
    """True when `Block1Receiver.feed` returned an answer rather than a request to serve."""
    return result.code.is_response()
