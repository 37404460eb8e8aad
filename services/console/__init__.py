"""The web console: pages the gateway serves under ``/``, each a client of the public ``/v1`` API.

The server renders a page's shell (labels in the reader's language); the browser fetches every
number from ``/v1`` with the session cookie. Nothing here reads the database or computes a figure.
"""
