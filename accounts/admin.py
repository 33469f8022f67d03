"""Django admin for operators: users (search, display name, active flag), friendships, friend
requests and blocks. OAuth applications and tokens come from django-oauth-toolkit's own admin."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

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
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "avatar", "email")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
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
