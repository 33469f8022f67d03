"""Small helpers shared by test modules."""

from imsite.realtime.claims import Claimed, SendClaim, SendClaims


def claimable(state: SendClaims, claims: list[tuple[int, int, str]]) -> list[bool]:
    """Whether each (user id, msg id, conversation id) may be sent now, claimed as a send does
    (a free id is bound to that conversation), with tokens to spare."""
    return [outcome == Claimed.OK for outcome in state.claim_sends(
        [SendClaim(user_id, msg_id, cid, True) for user_id, msg_id, cid in claims], 10_000, 10_000)]
