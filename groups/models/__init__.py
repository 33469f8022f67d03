from groups.models.group import Group

__all__ = ["Group"]
