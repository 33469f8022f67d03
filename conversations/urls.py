from django.urls import path

from conversations.views import api

urlpatterns = [
    path("conversations", api.ConversationListView.as_view()),
    path("conversations/direct", api.DirectConversationView.as_view()),
    path("conversations/<str:conversation_id>", api.ConversationDetailView.as_view()),
    path("sync", api.SyncView.as_view()),
]
