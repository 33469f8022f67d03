from django.urls import path

from chat.views import attachments, search

urlpatterns = [
    path("attachments", attachments.AttachmentUploadView.as_view()),
    path("attachments/<str:attachment_id>/file", attachments.AttachmentFileView.as_view()),
    path("attachments/<str:attachment_id>/thumbnail", attachments.AttachmentThumbnailView.as_view()),
    path("messages/search", search.MessageSearchView.as_view()),
]
