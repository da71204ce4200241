"""The Whatsam control plane on Chalice: routes map to services, nothing more."""

from chalice import Chalice
from chalicelib import accounts, health, sessions

from whatsam.http import middleware

app = Chalice(app_name="whatsam")
middleware.install(app)
for blueprint in (health.bp, accounts.bp, sessions.bp):
    app.register_blueprint(blueprint)
