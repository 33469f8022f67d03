"""One socket's push order: every conversation's messages reach the device in seq order, once each.

Pushes from different senders (and nodes) may arrive out of order, and the socket's own sends are
never pushed back to it (it has their `ack`s). So per conversation the socket keeps the highest
seq it holds and the messages it sent itself: a push at or below the cursor is a repeat, a push
above a gap first has the gap filled from the shard, without the socket's own messages. Own sends
still in flight (pipelined, not yet acknowledged) are known by `msg_id` only; their seq arrives
with the `ack`.
"""

from typing import Any

Message = dict[str, Any]


class PushOrder:
    def __init__(self, baseline: dict[str, int] | None = None) -> None:
        # Per conversation, the highest seq this socket has (written, or acknowledged by some
        # device before the connect: the baseline).
        self.cursor: dict[str, int] = dict(baseline or {})
        self.in_flight: set[int] = set()  # msg_ids of this socket's sends not answered yet
        self.own: dict[str, dict[int, int]] = {}  # conversation -> seq -> msg_id of this socket's sends

    # this socket's own sends
    def sending(self, msg_id: int) -> None:
        self.in_flight.add(msg_id)

    def sent(self, conversation_id: str, msg_id: int, seq: int) -> None:
        self.in_flight.discard(msg_id)
        if seq > self.cursor.get(conversation_id, 0):
            self.own.setdefault(conversation_id, {})[seq] = msg_id

    def refused(self, msg_id: int) -> None:
        self.in_flight.discard(msg_id)

    # pushes
    def gap(self, message: Message) -> int | None:
        """None: write nothing before `message` (also when it is a repeat, see `accept`); else the
        seq after which the messages before it must be read (from the shard) and passed to `accept`."""
        conversation_id, seq = message["conversation_id"], message["seq"]
        last = self.cursor.get(conversation_id, 0)  # absent: joined after connect, the read filters
        if seq <= last + 1:
            return None
        own = self.own.get(conversation_id, {})
        if all(s in own for s in range(last + 1, seq)):
            return None
        return last

    def accept(self, message: Message, before: list[Message] = ()) -> list[Message]:  # type: ignore[assignment]
        """What to write for `message`, in order: the gap's messages (`before`, ascending, read
        after `gap`) that are not this socket's own, then `message`; nothing for a repeat. The
        cursor moves past it."""
        conversation_id, seq = message["conversation_id"], message["seq"]
        last = self.cursor.get(conversation_id, 0)
        if seq <= last:
            return []
        own = self.own.get(conversation_id, {})
        writes = [m for m in before if last < m["seq"] < seq and m["seq"] not in own
                  and int(m["msg_id"]) not in self.in_flight]
        writes.append(message)
        self.written(conversation_id, seq)
        return writes

    def written(self, conversation_id: str, seq: int) -> None:
        """`seq` of the conversation is on the socket (e.g. the offline push wrote it)."""
        if seq <= self.cursor.get(conversation_id, 0):
            return
        self.cursor[conversation_id] = seq
        own = self.own.get(conversation_id)
        if own:  # seqs at or below the cursor are settled: keep the map small on long-lived sockets
            settled = [s for s in own if s <= seq]
            for s in settled:
                del own[s]
            if not own:
                del self.own[conversation_id]
