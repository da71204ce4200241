"""The Whatsam control plane on Chalice: routes map to services, nothing more."""

from chalice import Chalice
from chalicelib import (
    accounts,
    admin,
    billing,
    channels,
    chats,
    contacts,
    dashboard,
    dev,
    fleet,
    groups,
    health,
    messages,
    profile,
    sessions,
    status_posts,
    webhooks,
)

from whatsam.config import get_settings
from whatsam.http import middleware

app = Chalice(app_name="whatsam")
middleware.install(app)
for blueprint in (dashboard.bp, health.bp, accounts.bp, sessions.bp, fleet.bp, messages.bp, webhooks.bp, billing.bp,
                  admin.bp, groups.bp, profile.bp, contacts.bp, channels.bp, status_posts.bp,
                  chats.bp):
    app.register_blueprint(blueprint)
if get_settings().dev_mode:
    app.register_blueprint(dev.bp)
