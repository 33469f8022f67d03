from django.urls import path

from groups import views

urlpatterns = [
    path("groups", views.GroupsView.as_view()),
    path("groups/<str:group_id>", views.GroupDetailView.as_view()),
    path("groups/<str:group_id>/members", views.MembersView.as_view()),
    path("groups/<str:group_id>/members/<str:user_id>", views.MemberDetailView.as_view()),
    path("groups/<str:group_id>/transfer", views.TransferView.as_view()),
    path("groups/<str:group_id>/read_receipts", views.ReadReceiptsView.as_view()),
]
