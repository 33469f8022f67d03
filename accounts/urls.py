from django.urls import path

from accounts.views import api, friends

urlpatterns = [
    path("auth/register", api.RegisterView.as_view()),
    path("auth/token", api.TokenView.as_view()),
    path("auth/refresh", api.RefreshView.as_view()),
    path("auth/logout", api.LogoutView.as_view()),
    path("me", api.MeView.as_view()),
    path("me/password", api.PasswordView.as_view()),
    path("users", api.UsersView.as_view()),
    path("friends/requests", friends.FriendRequestsView.as_view()),
    path("friends/requests/<int:request_id>", friends.FriendRequestDetailView.as_view()),
    path("friends/requests/<int:request_id>/accept", friends.FriendRequestAnswerView.as_view(answer="accept")),
    path("friends/requests/<int:request_id>/reject", friends.FriendRequestAnswerView.as_view(answer="reject")),
    path("friends", friends.FriendsView.as_view()),
    path("friends/<int:user_id>", friends.FriendDetailView.as_view()),
    path("blocks", friends.BlocksView.as_view()),
    path("blocks/<int:user_id>", friends.BlockDetailView.as_view()),
]
