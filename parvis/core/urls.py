from django.urls import path

from parvis.core.views import account, admin, auth, home, notifications, operator

app_name = "core"

urlpatterns = [
    path("", home.home, name="home"),
    path("accessibilite/", home.accessibility, name="accessibility"),
    # Signing in and out
    path("connexion/", auth.login_view, name="login"),
    path("connexion/second-facteur/", auth.login_second_factor, name="login_second_factor"),
    path("deconnexion/", auth.logout_view, name="logout"),
    path("mot-de-passe/oublie/", auth.password_reset, name="password_reset"),
    path("mot-de-passe/oublie/envoye/", auth.password_reset_done, name="password_reset_done"),
    path(
        "mot-de-passe/reinitialiser/<uidb64>/<token>/",
        auth.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    # Own account
    path("compte/", account.profile, name="profile"),
    path("compte/mot-de-passe/", account.password_change, name="password_change"),
    path("compte/securite/", account.security, name="security"),
    path("compte/securite/activer/", account.totp_enable, name="totp_enable"),
    path("compte/securite/qr.svg", account.totp_qr, name="totp_qr"),
    path("compte/securite/desactiver/", account.totp_disable, name="totp_disable"),
    path("compte/securite/codes-de-secours/", account.recovery_codes, name="recovery_codes"),
    path("compte/sessions/", account.session_list, name="sessions"),
    path("compte/sessions/autres/terminer/", account.session_end_others, name="session_end_others"),
    path("compte/sessions/<str:public_id>/terminer/", account.session_end, name="session_end"),
    path("compte/mots-de-passe-d-application/", account.app_password_list, name="app_passwords"),
    path(
        "compte/mots-de-passe-d-application/<int:pk>/revoquer/",
        account.app_password_revoke,
        name="app_password_revoke",
    ),
    path("compte/notifications/", account.notification_settings, name="notification_settings"),
    # Notification centre
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/tout-lu/", notifications.notification_mark_all_read, name="notifications_read"),
    path("notifications/<int:pk>/", notifications.notification_open, name="notification_open"),
    # Organisation administration
    path("o/<slug:org_slug>/annuaire/", admin.directory, name="directory"),
    path("o/<slug:org_slug>/admin/membres/", admin.member_list, name="admin_members"),
    path("o/<slug:org_slug>/admin/membres/<int:pk>/", admin.member_edit, name="admin_member"),
    path(
        "o/<slug:org_slug>/admin/membres/<int:pk>/activation/",
        admin.member_set_active,
        name="admin_member_active",
    ),
    path("o/<slug:org_slug>/admin/groupes/", admin.group_list, name="admin_groups"),
    path("o/<slug:org_slug>/admin/groupes/nouveau/", admin.group_edit, name="admin_group_new"),
    path("o/<slug:org_slug>/admin/groupes/<int:pk>/", admin.group_edit, name="admin_group"),
    path(
        "o/<slug:org_slug>/admin/groupes/<int:pk>/supprimer/", admin.group_delete, name="admin_group_delete"
    ),
    path("o/<slug:org_slug>/admin/journal/", admin.audit_list, name="admin_audit"),
    path("o/<slug:org_slug>/admin/journal.csv", admin.audit_export, name="admin_audit_csv"),
    path("o/<slug:org_slug>/admin/notifications/", admin.notification_defaults, name="admin_notifications"),
    # Operator
    path("operateur/", operator.organisation_list, name="operator_organisations"),
    path("operateur/nouvelle/", operator.organisation_edit, name="operator_organisation_new"),
    path("operateur/<int:pk>/", operator.organisation_edit, name="operator_organisation"),
]
