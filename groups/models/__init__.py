from groups.models.group import Group
from groups.models.member import GroupMember

__all__ = ["Group", "GroupMember"]
