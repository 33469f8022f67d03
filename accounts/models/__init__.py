from accounts.models.friends import Block, FriendRequest, Friendship
from accounts.models.users import User

__all__ = ["Block", "FriendRequest", "Friendship", "User"]
