from django.urls import path

from . import views

app_name = "chat"

space = "o/<slug:org_slug>/e/<slug:space_slug>/discussion/"
conversation = "o/<slug:org_slug>/discussion/<int:pk>/"
message = conversation + "message/<int:mid>/"

urlpatterns = [
    # The channels of a space
    path(space, views.home, name="home"),
    path(space + "nouveau/", views.channel_new, name="channel_new"),
    path(space + "recherche/", views.search, name="search"),
    path(space + "<int:pk>/", views.channel, name="channel"),
    # Private conversations and search across the organisation
    path("o/<slug:org_slug>/messages/", views.direct_list, name="direct_list"),
    path("o/<slug:org_slug>/messages/nouveau/", views.direct_new, name="direct_new"),
    path("o/<slug:org_slug>/messages/<int:pk>/", views.direct, name="direct"),
    path("o/<slug:org_slug>/discussion/recherche/", views.org_search, name="org_search"),
    path("o/<slug:org_slug>/discussion/apercu/", views.link_preview, name="preview"),
    # One conversation, channel or private
    path(conversation + "envoyer/", views.post, name="post"),
    path(conversation + "lu/", views.read, name="read"),
    path(conversation + "export/", views.export, name="export"),
    path(message, views.thread, name="thread"),
    path(message + "modifier/", views.edit, name="edit"),
    path(message + "supprimer/", views.delete, name="delete"),
    path(message + "reaction/", views.react, name="react"),
]
