#!/usr/bin/env python3
"""Test SMSC for the Verigate SMPP client, on the PyPI `smpp34` library (the SMPP protocol on this
side is the library's; only this harness is ours). It prints one JSON object per line on stdout:

  {"event": "listening", "port": P}
  {"event": "bind", "system_id": ..., "session": ...}
  {"event": "submit", "dest": ..., "data_coding": n, "esm_class": n, "short_message": hex, "message_id": ...}
  {"event": "throttled", "dest": ...}          a submit refused with ESME_RTHROTTLED
  {"event": "drop"} / {"event": "restarted"}   every connection is being cut / was cut (listener still up)
  {"event": "held", "dest": ...}               a submit of a cut session, never answered
  {"event": "bind_refused"}                    (--refuse-bind)

Options:
  --throttle N     answer the first N submits with ESME_RTHROTTLED
  --drop-after K   after K accepted submits: hold (never answer) the next submit, wait 0.3 s for the answers
                   already given to reach the client, then cut every connection (the client side talks to
                   smpp34 through a small TCP relay in this harness, which closes its sockets: smpp34's own
                   Server.stop() hangs with sessions open). Submits of the cut sessions are never answered,
                   so the client must resend them; accepted ones must not come again. The listener stays.
  --receipts       send a delivery receipt (deliver_sm, esm_class 0x04, Appendix B text) per accepted
                   submit that asked for one (registered_delivery 1)
  --receipts-to-next-bind
                   hold each receipt until another session binds, then send it to that session
                   ({"event": "receipt", "session": ..., "message_id": ...}): an SMSC that hands a
                   receipt to whichever transceiver of the system_id is bound (another node, or the
                   same core after a restart)
  --receipts-with-text
                   with --receipts: each receipt says UNDELIV (message_state 5, err:001) and carries the
                   submitted message after `text:`, as SMSCs that quote the message's start do: the
                   code is in the receipt (the core must show it nowhere)
  --refuse-bind    smpp34 accepts every bind and has no credential hook, so this mode is a tiny raw
                   asyncio listener that answers bind_transceiver with bind_transceiver_resp
                   ESME_RBINDFAIL (0x0D) and no body (SMPP 3.4 §4.2.6) and then closes.
"""
import argparse
import asyncio
import json
import socket
import struct
import sys

import smpp34


def say(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def refuse_bind(port):
    async def session(reader, writer):
        try:
            header = await reader.readexactly(16)
            length, command_id, _status, sequence = struct.unpack(">IIII", header)
            await reader.readexactly(max(0, min(length, 4096) - 16))
            if command_id in (0x02, 0x01, 0x09):
                writer.write(struct.pack(">IIII", 16, 0x80000000 | command_id, 0x0D, sequence))
                await writer.drain()
                say(event="bind_refused")
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", port)
    say(event="listening", port=port)
    async with server:
        await server.serve_forever()


class Relay:
    """A TCP relay from the public port to smpp34's port whose connections the harness can cut."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.pairs = set()

    async def session(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return
        pair = (writer, up_writer)
        self.pairs.add(pair)

        async def pipe(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.pairs.discard(pair)

    def cut(self):
        for writer, up_writer in list(self.pairs):
            writer.transport.abort()
            up_writer.transport.abort()
        self.pairs.clear()


async def smsc(port, throttle, drop_after, receipts, receipts_to_next_bind=False, receipts_with_text=False):
    sessions = {}
    held_receipts = []  # (submit event, message_id) waiting for the next bind (--receipts-to-next-bind)
    accepted = 0
    next_id = 1
    held = []  # submits deliberately left unanswered across a drop
    dropped = False
    dead = set()  # sessions whose connection was cut
    background = set()
    relay = None
    listen_port = port
    if drop_after:
        relay = Relay(free_port())
        listen_port = relay.upstream
        relay_server = await asyncio.start_server(relay.session, "127.0.0.1", port)
        background.add(relay_server)

    released = asyncio.Event()
    loop = asyncio.get_running_loop()
    line_handlers.append(lambda line: line == b"release" and loop.call_soon_threadsafe(released.set))

    async def start():
        server = smpp34.Server(host="127.0.0.1", port=listen_port, system_id="TESTSMSC")
        await server.start()
        return server

    async def receipt(esme, ev, message_id):
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611281640 done date:2611281641 stat:DELIVRD err:000 text:"
        state = 2
        if receipts_with_text:
            quoted = ev.short_message.decode("latin-1").replace("\n", " ")
            text = f"id:{message_id} sub:001 dlvrd:000 submit date:2611281640 done date:2611281641 stat:UNDELIV err:001 text:{quoted}"
            state = 5
            await released.wait()  # the test says "release" on stdin once its SSE stream is open
        await esme.deliver_sm(ev.source_addr or "0", text.encode("latin-1"), source_addr=ev.destination_addr, esm_class=0x04,
                              tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                                    smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([state]))])

    server = await start()
    say(event="listening", port=port)
    while True:
        ev = await server.next()
        if isinstance(ev, smpp34.Esme):
            sessions[ev.session_id] = ev
            say(event="bind", system_id=ev.system_id, session=ev.session_id)
            for submit, message_id in held_receipts:
                say(event="receipt", session=ev.session_id, message_id=message_id)
                task = asyncio.ensure_future(receipt(ev, submit, message_id))
                background.add(task)
                task.add_done_callback(background.discard)
            held_receipts.clear()
        elif isinstance(ev, smpp34.Unbound):
            sessions.pop(ev.session_id, None)
            say(event="unbound", session=ev.session_id)
        elif isinstance(ev, smpp34.SubmitSmEvent):
            if ev.session_id in dead:
                held.append(ev)
                say(event="held", dest=ev.destination_addr)
                continue
            if throttle > 0:
                throttle -= 1
                say(event="throttled", dest=ev.destination_addr)  # said before answering: the client may look next
                ev.reject(smpp34.ESME_RTHROTTLED)
                continue
            if drop_after and accepted >= drop_after and not dropped:
                held.append(ev)
                dropped = True
                say(event="drop", dest=ev.destination_addr)
                await asyncio.sleep(0.3)  # let the responses already accepted reach the client first
                dead.update(sessions)
                dead.add(ev.session_id)
                sessions.clear()
                relay.cut()
                say(event="restarted")
                continue
            message_id = f"{next_id:08X}"
            next_id += 1
            accepted += 1
            say(event="submit", dest=ev.destination_addr, source=ev.source_addr, data_coding=ev.data_coding,
                esm_class=ev.esm_class, short_message=ev.short_message.hex(), message_id=message_id,
                tlvs=[[t.tag, t.value.hex()] for t in ev.tlvs])
            ev.accept(message_id)
            esme = sessions.get(ev.session_id)
            if receipts_to_next_bind and ev.registered_delivery & 0x01:
                held_receipts.append((ev, message_id))
            elif receipts and ev.registered_delivery & 0x01 and esme is not None:
                task = asyncio.ensure_future(receipt(esme, ev, message_id))
                background.add(task)
                task.add_done_callback(background.discard)


line_handlers = []  # called with each line read from stdin (stripped), on the watching thread


def exit_with_parent():
    """Exits when stdin reaches end of file: the test that started this SMSC closed it or ended.
    Lines before that go to `line_handlers` ("release": hand over receipts held for the test)."""
    import os
    import threading

    def watch():
        try:
            for line in sys.stdin.buffer:
                for handle in list(line_handlers):
                    handle(line.strip())
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--throttle", type=int, default=0)
    parser.add_argument("--drop-after", type=int, default=0)
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--receipts-to-next-bind", action="store_true")
    parser.add_argument("--receipts-with-text", action="store_true")
    parser.add_argument("--refuse-bind", action="store_true")
    args = parser.parse_args()
    port = args.port or free_port()
    exit_with_parent()
    if args.refuse_bind:
        asyncio.run(refuse_bind(port))
    else:
        asyncio.run(smsc(port, args.throttle, args.drop_after, args.receipts, args.receipts_to_next_bind, args.receipts_with_text))


if __name__ == "__main__":
    main()
