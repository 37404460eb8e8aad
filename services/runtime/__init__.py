"""Composition: what turns the services into running processes.

The ``shopmind`` command, the all-in-one app, gunicorn serving, the demo and the registry of
serve targets and task modules. This package is the one place allowed to import every service;
the services never import each other and ``shared`` (the kernel) imports none of them, which
``lint-imports`` checks (docs/architecture.md).
"""
