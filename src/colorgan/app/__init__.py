"""colorgan-app: a page in the browser that colorizes dropped photos (install: ``pip install "colorgan[app]"``).

Modules:

* :mod:`~colorgan.app.cli` — the command (``colorgan-app``, ``python -m colorgan.app``) and its safety settings.
* :mod:`~colorgan.app.page` — the page's layout in Gradio.
* :mod:`~colorgan.app.handlers` — what the page does with dropped photos, without Gradio (tested without a browser).
"""
