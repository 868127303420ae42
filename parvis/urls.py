from django.urls import include, path

from parvis.core.oidc import AuthenticationRequestView, CallbackView

urlpatterns = [
    path("", include("parvis.core.urls")),
    path("", include("parvis.spaces.urls")),
    path("", include("parvis.documents.urls")),
    path("", include("parvis.chat.urls")),
    path("oidc/connexion/", AuthenticationRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/retour/", CallbackView.as_view(), name="oidc_authentication_callback"),
]

handler400 = "parvis.core.views.errors.bad_request"
handler403 = "parvis.core.views.errors.permission_denied"
handler404 = "parvis.core.views.errors.not_found"
handler500 = "parvis.core.views.errors.server_error"
