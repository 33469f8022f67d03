"""The per-socket push order (imsite/realtime/push_order.py), without a socket: seq order, repeats
dropped, gaps filled without the socket's own sends (acknowledged or still in flight)."""

from imsite.realtime.push_order import PushOrder


def _message(seq: int, msg_id: int | None = None, cid: str = "d_1_2") -> dict:
    return {"conversation_id": cid, "seq": seq, "msg_id": str(msg_id or 1000 + seq)}


def test_in_order_pushes_are_written_and_repeats_dropped():
    order = PushOrder({"d_1_2": 2})
    assert order.gap(_message(3)) is None
    assert order.accept(_message(3)) == [_message(3)]
    assert order.accept(_message(3)) == []  # a retry or a crossing push: already on the socket
    assert order.accept(_message(2)) == []  # at or below the connect baseline: the offline push's
    assert order.cursor == {"d_1_2": 3}


def test_a_gap_is_filled_before_the_later_message():
    order = PushOrder()
    assert order.gap(_message(3)) == 0  # read what lies between 0 and 3 first
    assert order.accept(_message(3), [_message(1), _message(2)]) == [_message(1), _message(2), _message(3)]
    assert order.accept(_message(1)) == []  # the late push of a filled seq


def test_own_sends_are_never_pushed_back_acknowledged_or_in_flight():
    order = PushOrder()
    order.sending(501)
    order.sending(502)
    order.sent("d_1_2", 501, 1)  # acknowledged: its seq is known
    assert order.gap(_message(2)) is None  # seq 1 is this socket's own: no gap to fill
    assert order.accept(_message(2)) == [_message(2)]
    # 502 still in flight got seq 3; the peer's seq 4 arrives first: the gap read skips it by id.
    assert order.gap(_message(4)) == 2
    assert order.accept(_message(4), [_message(3, msg_id=502)]) == [_message(4)]
    order.sent("d_1_2", 502, 3)  # its ack, later: already below the cursor, nothing kept
    assert order.own == {} and order.in_flight == set()


def test_a_refused_send_is_forgotten_and_settled_seqs_are_pruned():
    order = PushOrder()
    order.sending(7)
    order.refused(7)
    assert order.in_flight == set()
    order.sending(8)
    order.sent("g_5", 8, 10)
    assert order.own == {"g_5": {10: 8}}
    order.written("g_5", 12)  # the cursor passed it
    assert order.own == {} and order.cursor == {"g_5": 12}
    assert order.accept(_message(11, cid="g_5")) == []
