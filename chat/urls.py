from django.urls import path

from chat.views import attachments, messages, push, search

urlpatterns = [
    path("attachments", attachments.AttachmentUploadView.as_view()),
    path("attachments/<str:attachment_id>/file", attachments.AttachmentFileView.as_view()),
    path("attachments/<str:attachment_id>/thumbnail", attachments.AttachmentThumbnailView.as_view()),
    path("messages/search", search.MessageSearchView.as_view()),
    path("conversations/<str:conversation_id>/messages", messages.MessagesView.as_view()),
    path("conversations/<str:conversation_id>/read", messages.ReadView.as_view()),
    path("conversations/<str:conversation_id>/messages/<str:msg_id>", messages.MessageEditView.as_view()),
    path("conversations/<str:conversation_id>/messages/<str:msg_id>/reactions/<str:emoji>",
         messages.ReactionView.as_view()),
    path("push/key", push.PushKeyView.as_view()),
    path("push/subscriptions", push.PushSubscriptionsView.as_view()),
    path("push/subscriptions/<str:subscription_id>", push.PushSubscriptionView.as_view()),
]
