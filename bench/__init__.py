"""The bench: the service's request rate over real HTTP, against a bare FastAPI app served the
same way in the same run. `python -m bench --help`; docs/performance.md explains the method."""
