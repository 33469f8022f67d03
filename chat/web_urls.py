from django.urls import path

from chat.views.service_worker import service_worker

urlpatterns = [
    path("sw.js", service_worker, name="service-worker"),
]
