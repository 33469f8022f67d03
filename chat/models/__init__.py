from chat.models.attachments import Attachment, AttachmentUse
from chat.models.calls import Call
from chat.models.messages import ConversationCounter, Message
from chat.models.outbox import Outbox

__all__ = ["Attachment", "AttachmentUse", "Call", "ConversationCounter", "Message", "Outbox"]
