"""Groups in the Django admin: read and moderate (issue 5). Nothing is edited in place:
moderation runs the same actions as the API (dissolve, remove a member), with the staff user as
actor, so the system messages and `group` frames follow."""

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from groups.actions.manage import do_dissolve
from groups.actions.members import check_staff_remove
from groups.models import Group, GroupMember
from groups.representations import ROLE_ORDER
from imsite.errors import ImError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff with the view permission; changes only through the moderation actions
    (allowed to staff with `groups.change_group`)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "owner", "members", "dissolved", "created_at")
    list_filter = ("dissolved",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("name", "owner", "announcement", "avatar", "dissolved", "conversation", "created_at",
                       "updated_at", "member_table")
    actions = ("dissolve",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).select_related("owner").annotate(
            member_total=Count("conversation__memberships", filter=Q(conversation__memberships__active=True)))

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("groups.change_group")

    @admin.display(description="members", ordering="member_total")
    def members(self, group: Group) -> int:
        return group.member_total

    @admin.display(description="current members")
    def member_table(self, group: Group) -> str:
        rows = sorted(GroupMember.objects.filter(conversation_id=group.conversation_id, active=True)
                      .select_related("user"), key=lambda m: (ROLE_ORDER.get(m.role, 3), m.id))
        link = reverse("admin:groups_groupmember_changelist") + f"?conversation__id__exact={group.conversation_id}"
        table = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                                 ((m.user.username, m.role, m.joined_at) for m in rows))
        return format_html('<table><tr><th>user</th><th>role</th><th>joined</th></tr>{}</table>'
                           '<p><a href="{}">Moderate these members</a></p>', table, link)

    @admin.action(description=gettext_lazy("Dissolve the selected groups"), permissions=["moderate"])
    def dissolve(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        count = 0
        for group in queryset.filter(dissolved=False):
            do_dissolve(group, request.user.id)
            self.log_change(request, group, _("Dissolved the group."))
            count += 1
        self.message_user(request, ngettext("Dissolved %(count)d group.", "Dissolved %(count)d groups.", count)
                          % {"count": count})


@admin.register(GroupMember)
class GroupMemberAdmin(ReadOnlyAdmin):
    list_display = ("user", "group", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "conversation__group__name")
    list_select_related = ("user", "conversation__group")
    readonly_fields = ("user", "conversation", "role", "join_seq", "read_seq", "joined_at")
    fields = readonly_fields
    actions = ("remove",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[GroupMember]:
        return super().get_queryset(request).filter(conversation__kind="group", active=True)

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("groups.change_group")

    @admin.display(description="group", ordering="conversation__group__name")
    def group(self, member: GroupMember) -> str:
        return member.conversation.group.name

    @admin.action(description=gettext_lazy("Remove the selected members from their groups"), permissions=["moderate"])
    def remove(self, request: HttpRequest, queryset: QuerySet[GroupMember]) -> None:
        for member in queryset.select_related("conversation__group", "user"):
            try:
                check_staff_remove(member.conversation.group.id, member.user_id, request.user.id)
            except ImError as refused:
                self.message_user(request, f"{member.user.username}: {refused.message}", messages.WARNING)
            else:
                group = member.conversation.group
                text = _("Removed %(user)s from %(group)s.") % {"user": member.user.username, "group": group.name}
                self.log_change(request, group, text)
                self.message_user(request, text)
