"""Moderation in the Django admin. Messages live on the shards, so they are not a ModelAdmin:
conversations are (main database, searched by id), and each one links to a page listing its
messages from its shard (`Conversation.shard`), newest first (an edited one with its earlier
versions, read-only). A search page finds messages across
every shard by text, sender and conversation; a message page shows sender and conversation by
name, with links, and two actions that need a reason: recall (the same `do_recall` as the API,
with the staff user as `by`, so every member's devices are told) and erase (recall, and the files
of its attachment deleted). Both are recorded in Django's admin log (LogEntry: who, what, when,
why). Reading needs `conversations.view_conversation`, acting `conversations.change_conversation`.
Attachments and calls are listed read-only: history refers to them."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from chat.actions.moderation import do_erase, message_in, search_all_shards
from chat.actions.recall import do_recall
from chat.models import Attachment, Call, Message, MessageEdit
from conversations.models import Conversation
from imsite.shards import shard_alias

PAGE = 100


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, strip=True)


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Text contains"), required=False)
    sender = forms.CharField(label=gettext_lazy("Sender (username)"), required=False)
    conversation = forms.CharField(label=gettext_lazy("Conversation id"), required=False)


def log_message_action(request: HttpRequest, message: Message, text: str) -> None:
    """A moderation action on a message in the admin log: the staff user, the message (by its
    msg_id; the row is on a shard) and what was done, with the reason."""
    LogEntry.objects.create(
        user_id=request.user.id, content_type_id=ContentType.objects.get_for_model(Message).id,
        object_id=str(message.msg_id), object_repr=f"message {message.msg_id} in {message.conversation_id}"[:200],
        action_flag=CHANGE, change_message=text)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "kind", "name", "uploader", "size", "content_type", "created_at")
    list_filter = ("kind", "is_avatar")
    search_fields = ("=id", "name", "uploader__username")
    list_select_related = ("uploader",)
    date_hierarchy = "created_at"


@admin.register(Call)
class CallAdmin(ReadOnlyModelAdmin):
    list_display = ("call_id", "conversation", "inviter", "callee", "media", "state", "created_at", "ended_at")
    list_filter = ("state", "media")
    search_fields = ("=call_id", "=conversation__id", "inviter__username", "callee__username")
    list_select_related = ("inviter", "callee")
    date_hierarchy = "created_at"


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

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # A user's page links to the conversations they are in.
        return lookup == "memberships__user__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=gettext_lazy("messages"))
    def messages_link(self, conversation: Conversation) -> str:
        url = reverse("admin:chat_conversation_messages", args=[conversation.id])
        return format_html('<a href="{}">{}</a>', url, _("messages"))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("messages/search/", view(self.search_view), name="chat_message_search"),
            path("<str:conversation_id>/messages/", view(self.messages_view), name="chat_conversation_messages"),
            path("<str:conversation_id>/messages/<int:msg_id>/", view(self.message_view), name="chat_message"),
            path("<str:conversation_id>/messages/<int:msg_id>/recall/", view(require_POST(self.recall_view)),
                 name="chat_conversation_recall"),
            path("<str:conversation_id>/messages/<int:msg_id>/erase/", view(require_POST(self.erase_view)),
                 name="chat_message_erase"),
            *super().get_urls(),
        ]

    # --- reading -------------------------------------------------------------------------------

    def _readable(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _conversation(self, request: HttpRequest, conversation_id: str) -> Conversation:
        self._readable(request)
        return get_object_or_404(Conversation, id=conversation_id)

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta,
                "can_moderate": self.has_change_permission(request), **extra}

    def _rows(self, rows: list[Message]) -> list[dict[str, Any]]:
        """Messages with their sender's name and the links of the message page."""
        senders = User.objects.in_bulk({m.sender_id for m in rows})
        return [{"m": m, "sender": senders.get(m.sender_id),
                 "url": reverse("admin:chat_message", args=[m.conversation_id, m.msg_id])} for m in rows]

    def search_view(self, request: HttpRequest) -> HttpResponse:
        self._readable(request)
        form = SearchForm(request.GET or None)
        rows = search_all_shards(**{"text": form.cleaned_data["q"], "sender": form.cleaned_data["sender"],
                                    "conversation_id": form.cleaned_data["conversation"]}) if form.is_valid() else []
        return TemplateResponse(request, "chat/admin_search.html", self._context(
            request, _("Search messages"), form=form, rows=self._rows(rows), searched=form.is_bound))

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
        title = _("Messages of %(conversation)s (shard %(shard)s)") % {"conversation": conversation.id,
                                                                       "shard": conversation.shard}
        return TemplateResponse(request, "chat/admin_messages.html", self._context(
            request, title, conversation=conversation, rows=self._rows(rows),
            older=rows[-1].seq if len(rows) == PAGE else None))

    def message_view(self, request: HttpRequest, conversation_id: str, msg_id: int) -> HttpResponse:
        conversation = self._conversation(request, conversation_id)
        message = message_in(conversation, msg_id)
        if message is None:
            raise Http404(_("No such message in this conversation."))
        # The group (a reverse one-to-one from the groups app): the chat layer only reads it here.
        group = getattr(conversation, "group", None) if conversation.kind == "group" else None
        log = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Message),
                                      object_id=str(msg_id)).select_related("user").order_by("-action_time")
        return TemplateResponse(request, "chat/admin_message.html", self._context(
            request, _("Message %(msg_id)s") % {"msg_id": msg_id}, conversation=conversation, group=group,
            row=self._rows([message])[0], form=ReasonForm(), log=log))

    # --- acting ---------------------------------------------------------------------------------

    def _act(self, request: HttpRequest, conversation_id: str, msg_id: int) -> tuple[Conversation, Message, str]:
        conversation = self._conversation(request, conversation_id)
        if not self.has_change_permission(request):
            raise PermissionDenied
        message = message_in(conversation, msg_id)
        if message is None:
            raise Http404(_("No such message in this conversation."))
        form = ReasonForm(request.POST)
        return conversation, message, form.cleaned_data["reason"] if form.is_valid() else ""

    def _back(self, conversation: Conversation, message: Message) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:chat_message", args=[conversation.id, message.msg_id]))

    def recall_view(self, request: HttpRequest, conversation_id: str, msg_id: int) -> HttpResponse:
        conversation, message, reason = self._act(request, conversation_id, msg_id)
        if not reason:
            self.message_user(request, _("Give a reason."), messages.ERROR)
            return self._back(conversation, message)
        do_recall(conversation, message, by=request.user.id)
        log_message_action(request, message, _("Recalled. Reason: %(reason)s") % {"reason": reason})
        self.message_user(request, _("Message %(msg_id)s (seq %(seq)s) recalled; members were told.")
                          % {"msg_id": msg_id, "seq": message.seq}, messages.SUCCESS)
        return self._back(conversation, message)

    def erase_view(self, request: HttpRequest, conversation_id: str, msg_id: int) -> HttpResponse:
        conversation, message, reason = self._act(request, conversation_id, msg_id)
        if not reason:
            self.message_user(request, _("Give a reason."), messages.ERROR)
            return self._back(conversation, message)
        erased = do_erase(conversation, message, by=request.user.id)
        log_message_action(request, message, _("Erased (content and %(files)s attachment files). Reason: %(reason)s")
                           % {"files": len(erased), "reason": reason})
        self.message_user(request, _("Message %(msg_id)s erased.") % {"msg_id": msg_id}, messages.SUCCESS)
        return self._back(conversation, message)
