from conversations.models import Membership


class GroupMember(Membership):
    """Group memberships, for the admin site only (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "group member"
