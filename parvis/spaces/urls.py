from django.urls import path

from parvis.spaces.views import joining, members, spaces

app_name = "spaces"

space = "o/<slug:org_slug>/e/<slug:space_slug>/"

urlpatterns = [
    # Joining
    path("invitation/<str:token>/", joining.invitation_accept, name="invitation"),
    path("rejoindre/", joining.code_entry, name="code_entry"),
    path("rejoindre/compte/", joining.code_sign_up, name="code_sign_up"),
    # Mes espaces and the organisation's spaces
    path("o/<slug:org_slug>/", spaces.my_spaces, name="my_spaces"),
    path("o/<slug:org_slug>/onglets/", spaces.tab_list, name="tabs"),
    path("o/<slug:org_slug>/onglets/<int:pk>/", spaces.tab_edit, name="tab"),
    path("o/<slug:org_slug>/onglets/<int:pk>/deplacer/", spaces.tab_move, name="tab_move"),
    path("o/<slug:org_slug>/onglets/<int:pk>/supprimer/", spaces.tab_delete, name="tab_delete"),
    path("o/<slug:org_slug>/espaces/", spaces.directory, name="directory"),
    path("o/<slug:org_slug>/espaces/nouveau/", spaces.space_create, name="create"),
    path("o/<slug:org_slug>/espaces/depuis-un-modele/", spaces.space_batch, name="batch"),
    # One space
    path(space, spaces.space_detail, name="detail"),
    path(space + "parametres/", spaces.space_settings, name="settings"),
    path(space + "archiver/", spaces.space_archive, name="archive"),
    path(space + "enregistrer-comme-modele/", spaces.space_save_template, name="save_template"),
    path(space + "rejoindre/", spaces.space_join, name="join"),
    path(space + "quitter/", spaces.space_leave, name="leave"),
    path(space + "notifications/", spaces.space_frequency, name="frequency"),
    path(space + "membres/", members.member_list, name="members"),
    path(space + "membres/<int:pk>/", members.member_update, name="member"),
    path(space + "groupes/", members.group_grant_list, name="groups"),
    path(space + "demandes/", members.request_list, name="requests"),
    path(space + "demandes/<int:pk>/", members.request_decide, name="request"),
    path(space + "codes/", members.code_list, name="codes"),
    path(space + "codes/<int:pk>/revoquer/", members.code_revoke, name="code_revoke"),
    # Organisation administration
    path("o/<slug:org_slug>/admin/invitations/", joining.invitation_list, name="invitations"),
    path(
        "o/<slug:org_slug>/admin/invitations/<int:pk>/retirer/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("o/<slug:org_slug>/admin/modeles/", joining.template_list, name="templates"),
    path("o/<slug:org_slug>/admin/modeles/nouveau/", joining.template_edit, name="template_new"),
    path("o/<slug:org_slug>/admin/modeles/<int:pk>/", joining.template_edit, name="template"),
    path(
        "o/<slug:org_slug>/admin/modeles/<int:pk>/supprimer/", joining.template_delete, name="template_delete"
    ),
    path("operateur/<int:pk>/administrateur/", joining.operator_first_admin, name="operator_first_admin"),
]
