"""Route blueprints of the Whatsam Chalice app; each maps HTTP onto a service call."""
