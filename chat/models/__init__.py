from chat.models.attachments import Attachment, AttachmentUse
from chat.models.calls import Call
from chat.models.mentions import Mention
from chat.models.messages import ConversationCounter, Message, MessageEdit, Reaction
from chat.models.outbox import Outbox
from chat.models.push import PushDelivery, PushSubscription

__all__ = ["Attachment", "AttachmentUse", "Call", "ConversationCounter", "Mention", "Message", "MessageEdit",
           "Outbox", "PushDelivery", "PushSubscription", "Reaction"]
