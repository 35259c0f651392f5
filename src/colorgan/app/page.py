"""The page's layout in Gradio: the drop zone, the model menu, and a row per photo with its before/after slider."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorgan.app.handlers import Batch, Models, colorize_uploads, prune_jobs
from colorgan.host_memory import release_freed_memory

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "colorgan[app]"'

BUTTON = "Colorize"
BUSY_BUTTON = "Colorizing…"

# Gradio draws a job's queue position and progress bar over the event's output, here the status line; an empty
# Markdown is 0 px tall with overflow:auto (set inline, hence !important), which would clip them out of sight.
CSS = """
#status { min-height: 4.5em; overflow: visible !important; }
.colorgan-error { color: #b00020; padding: 0.6em 0.8em; border: 1px solid #f3c2c8; border-radius: 6px;
                  background: #fff5f6; }
"""


def require_gradio() -> Any:
    """``import gradio``, or an ImportError that says how to install it."""
    try:
        import gradio
    except ImportError as err:
        raise ImportError(f"the colorgan page needs Gradio, which is not installed: {INSTALL_HINT}") from err
    return gradio


def _rows(batch: Batch) -> list[dict[str, Any]]:
    """The batch as plain values for the page's state (strings and numbers only)."""
    return [
        {
            "name": r.name,
            "output": str(r.output) if r.output else None,
            "before": str(r.before) if r.before else None,
            "compare": str(r.compare) if r.compare else None,
            "size": list(r.size) if r.size else None,
            "error": r.error,
            "notes": list(r.notes),
        }
        for r in batch.rows
    ]


def build_page(
    models: Models, results_dir: Path, *, max_files: int = 100, keep_jobs: int = 10, uploads_dir: Path | None = None
) -> gr.Blocks:
    """The Blocks of the page; :mod:`colorgan.app.cli` queues and launches it.

    Args:
        models: the checkpoints of the command line (the page offers their labels, never paths).
        results_dir: where job folders go; it must be inside the folder Gradio serves (``GRADIO_TEMP_DIR``).
        max_files: the most photos one press of *Colorize* takes.
        keep_jobs: how many of the newest jobs keep their results (see :func:`~colorgan.app.handlers.prune_jobs`).
        uploads_dir: Gradio's upload folder (``GRADIO_TEMP_DIR``), whose old uploads go with old jobs.
    """
    gr = require_gradio()

    def run(files: list[str] | None, model: str | None, compare: bool, progress=gr.Progress()):  # noqa: B008
        try:
            batch = colorize_uploads(
                files, models, results_dir, model=model, compare=compare,
                progress=lambda fraction, desc: progress(fraction, desc=desc), max_files=max_files,
            )
        except ValueError as err:  # the caller's mistake (no photos, too many): said on the page, not a traceback
            raise gr.Error(str(err), print_exception=False) from err
        except Exception as err:
            # a fault of the server: the traceback goes to its log, the page gets a message without its paths
            log.exception("colorizing %d file(s) failed", len(files or ()))
            raise gr.Error(
                f"the server could not colorize these photos ({type(err).__name__}); its log says why",
                print_exception=False,
            ) from err
        finally:
            prune_jobs(results_dir, keep_jobs, uploads_dir)
            release_freed_memory()  # the page idles between jobs: a big photo's memory goes back to the system
        return (
            _rows(batch),
            batch.summary(),
            gr.DownloadButton(value=str(batch.zip) if batch.zip else None, visible=batch.zip is not None),
        )

    several = len(models.labels) > 1
    with gr.Blocks(title="colorgan", analytics_enabled=False) as page:
        gr.Markdown(
            "# colorgan\nDrop black-and-white photos (or colour ones: they are made gray first), then press "
            "**Colorize**. Every result has the photo's own width and height; drag the slider to compare."
        )
        with gr.Row():
            files = gr.File(label="Photos", file_count="multiple", elem_id="photos", scale=2)
            with gr.Column(scale=1):
                model = gr.Dropdown(
                    choices=models.labels, value=models.labels[0], label="Model", visible=several, elem_id="model",
                    interactive=several,
                )
                compare = gr.Checkbox(label="Also make a side-by-side (input | colorized)", elem_id="compare")
                go = gr.Button(BUTTON, variant="primary", elem_id="colorize")
        status = gr.Markdown(elem_id="status")
        download_all = gr.DownloadButton("Download all (zip)", visible=False, elem_id="download-all")
        results = gr.State([])

        @gr.render(inputs=results)
        def show(rows: list[dict[str, Any]]) -> None:
            for i, row in enumerate(rows):
                name = row["name"]
                with gr.Row(elem_classes=["colorgan-row"]):
                    if row["error"]:
                        reason = row["error"].removeprefix(f"{name}: ")
                        gr.HTML(
                            f'<div class="colorgan-error" data-name="{html.escape(name)}"><b>{html.escape(name)}'
                            f"</b> could not be colorized: {html.escape(reason)}</div>",
                            elem_id=f"row-{i}",
                        )
                        continue
                    width, height = row["size"]
                    gr.ImageSlider(
                        value=(row["before"], row["output"]), type="filepath", label=f"{name} ({width}×{height})",
                        buttons=["fullscreen"], interactive=False, elem_id=f"row-{i}", scale=3, max_height=520,
                    )
                    with gr.Column(scale=1):
                        gr.DownloadButton(f"Download {Path(row['output']).name}", value=row["output"],
                                          elem_classes=["colorgan-download"])
                        if row["compare"]:
                            gr.Image(row["compare"], label="input | colorized", type="filepath", interactive=False)
                            gr.DownloadButton(f"Download {Path(row['compare']).name}", value=row["compare"])
                        for note in row["notes"]:
                            gr.Markdown(f"note: {html.escape(note)}")

        # The button says the page is busy from the press until the job ends, failed or not (.then runs either way).
        go.click(
            lambda: gr.Button(BUSY_BUTTON, interactive=False), outputs=go, queue=False, trigger_mode="once",
            show_progress="hidden", api_visibility="private",
        ).then(
            run, inputs=[files, model, compare], outputs=[results, status, download_all], api_name="colorize",
            show_progress_on=status,
        ).then(
            lambda: gr.Button(BUTTON, interactive=True), outputs=go, queue=False, show_progress="hidden",
            api_visibility="private",
        )
    return page
