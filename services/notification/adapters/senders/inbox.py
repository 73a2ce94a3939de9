"""The in-app inbox as a channel. The notice is already stored; recording the delivery as
delivered is what makes it appear in ListInbox, and the dispatcher's NOTIFY on `cdsp_inbox`
pushes it to every app connected through StreamInbox (on any replica)."""

from __future__ import annotations

from notification.adapters.senders.base import Outgoing


class InboxSender:
    channel = "inbox"

    async def send(self, message: Outgoing) -> str:
        return message.notice_id

    async def close(self) -> None:
        return None
