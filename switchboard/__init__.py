"""Switchboard's wiring: settings, the services they build, and the command line."""
