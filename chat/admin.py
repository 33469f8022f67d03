"""Moderation in the Django admin. Messages live on the shards, so they are not a ModelAdmin:
conversations are (main database, searched by id), and each one links to a page listing its
messages from its shard (`Conversation.shard`), newest first (an edited one with its earlier
versions, read-only), with a recall button that runs the same `do_recall` as the API, with the
staff user as `by`, so every member's devices are told."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from chat.actions.recall import do_recall
from chat.models import Message, MessageEdit
from conversations.models import Conversation
from imsite.shards import shard_alias

PAGE = 100


@admin.register(Conversation)
class ConversationModerationAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "shard", "last_seq", "last_message_at", "messages_link")
    list_filter = ("kind", "shard")
    search_fields = ("=id",)
    ordering = ("-last_message_at",)
    readonly_fields = ("id", "kind", "shard", "last_seq", "last_message", "last_message_at", "updated_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="messages")
    def messages_link(self, conversation: Conversation) -> str:
        url = reverse("admin:chat_conversation_messages", args=[conversation.id])
        return format_html('<a href="{}">messages</a>', url)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<str:conversation_id>/messages/", view(self.messages_view), name="chat_conversation_messages"),
            path("<str:conversation_id>/messages/<int:msg_id>/recall/", view(require_POST(self.recall_view)),
                 name="chat_conversation_recall"),
            *super().get_urls(),
        ]

    def _conversation(self, request: HttpRequest, conversation_id: str) -> Conversation:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Conversation, id=conversation_id)

    def messages_view(self, request: HttpRequest, conversation_id: str) -> HttpResponse:
        conversation = self._conversation(request, conversation_id)
        queryset = Message.objects.using(shard_alias(conversation.shard)).filter(conversation_id=conversation.id)
        before = request.GET.get("before_seq", "")
        if before.isdigit():
            queryset = queryset.filter(seq__lt=int(before))
        rows = list(queryset.order_by("-seq")[:PAGE])
        # Earlier versions of the edited messages shown (read-only; members see only the latest).
        versions: dict[int, list[MessageEdit]] = {}
        edited = [m.msg_id for m in rows if m.edited_at is not None]
        for version in (MessageEdit.objects.using(shard_alias(conversation.shard)).filter(msg_id__in=edited)
                        .order_by("replaced_at")):
            versions.setdefault(version.msg_id, []).append(version)
        for m in rows:
            m.earlier_versions = versions.get(m.msg_id, [])
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Messages of {conversation.id} (shard {conversation.shard})",
            "conversation": conversation,
            "rows": rows,
            "older": rows[-1].seq if len(rows) == PAGE else None,
            "can_recall": self.has_change_permission(request),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "chat/admin_messages.html", context)

    def recall_view(self, request: HttpRequest, conversation_id: str, msg_id: int) -> HttpResponse:
        conversation = self._conversation(request, conversation_id)
        if not self.has_change_permission(request):
            raise PermissionDenied
        message = (Message.objects.using(shard_alias(conversation.shard))
                   .filter(conversation_id=conversation.id, msg_id=msg_id).first())
        if message is None:
            raise Http404("No such message in this conversation.")
        do_recall(conversation, message, by=request.user.id)
        self.message_user(request, f"Message {msg_id} (seq {message.seq}) recalled; members were told.",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:chat_conversation_messages", args=[conversation.id]))
