"""Django admin for operators: users (search, display name, active flag), friendships, friend
requests and blocks. OAuth applications and tokens come from django-oauth-toolkit's own admin."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Block, FriendRequest, Friendship, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("id", "username", "display_name", "is_active", "is_staff", "date_joined", "last_login")
    list_display_links = ("id", "username")
    list_editable = ("is_active",)
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("username", "display_name", "email")
    ordering = ("id",)
    raw_id_fields = ("avatar",)
    readonly_fields = ("conversations_and_groups",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (gettext_lazy("Profile"), {"fields": ("display_name", "avatar", "email", "language")}),
        (gettext_lazy("Conversations and groups"), {"fields": ("conversations_and_groups",)}),
        (gettext_lazy("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                                  "user_permissions")}),
        (gettext_lazy("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=gettext_lazy("conversations and groups"))
    def conversations_and_groups(self, user: User) -> str:
        if user.pk is None:
            return "-"
        conversations = (reverse("admin:conversations_conversation_changelist")
                         + f"?memberships__user__id__exact={user.pk}")
        groups = reverse("admin:groups_groupmember_changelist") + f"?user__id__exact={user.pk}"
        messages = reverse("admin:chat_message_search") + f"?sender={user.username}"
        return format_html('<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
                           conversations, _("Their conversations"), groups, _("Their groups"),
                           messages, _("Their messages"))
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "display_name", "password1", "password2")}),
    )


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "friend", "since")
    search_fields = ("user__username", "friend__username")
    raw_id_fields = ("user", "friend")
    date_hierarchy = "since"


@admin.register(FriendRequest)
class FriendRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "from_user", "to_user", "status", "created_at", "answered_at")
    list_filter = ("status",)
    search_fields = ("from_user__username", "to_user__username", "message")
    raw_id_fields = ("from_user", "to_user")
    date_hierarchy = "created_at"


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("id", "blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    raw_id_fields = ("blocker", "blocked")
