from django.urls import path, register_converter

from .views import browse, files, lists, share, uploads


class KindConverter:
    """The kind of item in a path: a folder (dossier) or a file (fichier)."""

    regex = "dossier|fichier"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "kind")

app_name = "documents"

space = "o/<slug:org_slug>/e/<slug:space_slug>/documents/"
folder = space + "dossier/<int:pk>/"
document = space + "fichier/<int:pk>/"
item = space + "<kind:kind>/<int:pk>/"

urlpatterns = [
    path(space, browse.home, name="home"),
    # Folders
    path(folder, browse.folder_view, name="folder"),
    path(folder + "nouveau/", browse.folder_new, name="folder_new"),
    path(folder + "acces/", browse.folder_access, name="folder_access"),
    path(folder + "droits/", browse.folder_rights, name="folder_rights"),
    path(folder + "suivre/", browse.folder_subscribe, name="folder_subscribe"),
    path(folder + "zip/", browse.folder_zip, name="folder_zip"),
    # Uploads
    path(folder + "televerser/", uploads.upload, name="upload"),
    path(folder + "televersements/", uploads.upload_start, name="upload_start"),
    path(space + "televersements/<uuid:upload_id>/", uploads.upload_part, name="upload_part"),
    path(space + "televersements/<uuid:upload_id>/terminer/", uploads.upload_finish, name="upload_finish"),
    # Documents
    path(document, files.document_view, name="document"),
    path(document + "telecharger/", files.download, name="download"),
    path(document + "apercu/", files.preview, name="preview"),
    path(document + "vignette/", files.thumbnail, name="thumbnail"),
    path(document + "verrou/", files.document_lock, name="lock"),
    path(document + "versions/<int:number>/restaurer/", files.version_restore, name="version_restore"),
    # Folders and documents alike
    path(item + "renommer/", browse.item_rename, name="rename"),
    path(item + "deplacer/", browse.item_move, name="move"),
    path(item + "copier/", browse.item_copy, name="copy"),
    path(item + "supprimer/", browse.item_delete, name="delete"),
    path(item + "favori/", browse.item_favourite, name="favourite"),
    path(item + "partager/", share.item_share, name="share"),
    path(space + "partages/<int:pk>/revoquer/", share.share_revoke, name="share_revoke"),
    # Trash and search
    path(space + "corbeille/", lists.trash, name="trash"),
    path(space + "corbeille/<kind:kind>/<int:pk>/restaurer/", lists.trash_restore, name="trash_restore"),
    path(space + "corbeille/<kind:kind>/<int:pk>/supprimer/", lists.trash_purge, name="trash_purge"),
    path(space + "recherche/", lists.space_search, name="search"),
    # Across the organisation's spaces
    path("o/<slug:org_slug>/documents/recherche/", lists.org_search, name="org_search"),
    path("o/<slug:org_slug>/documents/recents/", lists.recent, name="recent"),
    path("o/<slug:org_slug>/documents/favoris/", lists.favourites, name="favourites"),
    path("o/<slug:org_slug>/admin/documents/", lists.admin, name="admin"),
    # Public share links
    path("partage/<str:token>/", share.share_page, name="share_page"),
    path("partage/<str:token>/telecharger/", share.share_download, name="share_download"),
    path("partage/<str:token>/fichier/<int:pk>/", share.share_file, name="share_file"),
    path("partage/<str:token>/zip/", share.share_zip, name="share_zip"),
]
