"""ember serve: a model server speaking TorchServe's REST API and the Open Inference Protocol v2.

Start it with ``ember serve --model NAME=ARCHIVE`` (see ``ember/serve/cli.py``); pack archives with
``ember archive`` or :func:`save_archive`. Needs the ``serve`` extra (Starlette, uvicorn, prometheus-client);
``import ember`` never imports this package.
"""
from ember.serve.archive import Archive, ArchiveError, read_archive, save_archive
from ember.serve.config import ServeConfig

__all__ = ["Archive", "ArchiveError", "ServeConfig", "read_archive", "save_archive"]
