from conversations.models.conversation import Conversation, Membership

__all__ = ["Conversation", "Membership"]
