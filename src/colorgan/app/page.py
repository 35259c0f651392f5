"""The page's layout in Gradio: the drop zone, the model menu, and a row per photo with its before/after slider."""

from __future__ import annotations

import functools
import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorgan.app import points as pts
from colorgan.app.handlers import Batch, Models, colorize_uploads, prune_jobs, upload_name
from colorgan.data.host_memory import release_freed_memory

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
#points-canvas img { cursor: crosshair; }
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

        if any(models.takes_hints(label) for label in models.labels):
            _points_section(gr, models, results_dir, files, model, keep_jobs, uploads_dir)

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


POINTS_INTRO = (
    "### Colour points\nKnow what colour something was? With a model trained with colour hints, open a dropped "
    "photo here, pick a colour, click on the photo where that colour belongs, and press **Colorize with points**. "
    "Each point is a square of the chosen size in the photo's pixels; its colour is taken at the photo's own "
    "lightness there. Save the points to use them again here or with `colorgan-colorize --hints`."
)


def _points_section(
    gr: Any, models: Models, results_dir: Path, files: Any, model: Any, keep_jobs: int, uploads_dir: Path | None
) -> None:
    """The colour points editor (:mod:`colorgan.app.points`) under the results, for a page with a hinted model."""

    def user_error(err: Exception) -> Exception:
        return gr.Error(str(err), print_exception=False)

    def shown(state: pts.PointsState | None, note: str | None = None) -> tuple:
        """What every points event updates: state, picture, status line, downloads."""
        saved = pts.points_file(state)
        output = state["output"] if state else None
        status = pts.describe(state) + (f"\n\nnote: {html.escape(note)}" if note else "")
        return (
            state, pts.canvas(state), status,
            gr.DownloadButton(value=output, visible=output is not None),
            gr.DownloadButton(value=str(saved) if saved else None, visible=saved is not None),
        )

    def guarded(action: Any) -> Any:
        @functools.wraps(action)  # Gradio reads the action's signature: its gr.SelectData argument gets the click
        def run(*args: Any) -> tuple:
            try:
                return action(*args)
            except ValueError as err:  # HintError included: the user's points or photo, said on the page
                raise user_error(err) from err
            except Exception as err:
                log.exception("colour points: %s failed", getattr(action, "__name__", "an action"))
                raise gr.Error(
                    f"the server could not do that ({type(err).__name__}); its log says why", print_exception=False
                ) from err
        return run

    def open_photo(files_: list[str] | None, index: int | None, label: str | None) -> tuple:
        try:
            state, note = pts.open_photo(files_, index, models, results_dir, label)
        finally:
            prune_jobs(results_dir, keep_jobs, uploads_dir)
            release_freed_memory()
        default, largest = pts.point_size_range(state["size"])
        return (*shown(state, note), gr.Slider(value=default, maximum=largest))

    def colorize(state: pts.PointsState | None, label: str | None) -> tuple:
        try:
            return shown(pts.colorize_points(state, models, label))
        finally:
            release_freed_memory()

    def click(state: pts.PointsState | None, colour: str, size: float, evt: Any) -> tuple:
        if evt.index is None:  # a click beside the picture, where it is letterboxed
            return shown(state)
        x, y = evt.index
        return shown(pts.add_point(state, x, y, colour, size))

    # resolved, not a string: Gradio passes the click's data to the argument whose type hint is SelectData
    click.__annotations__ = {"evt": gr.SelectData}

    def load(state: pts.PointsState | None, upload: str | None) -> tuple:
        if not upload:
            return shown(state)
        return shown(pts.load_points(state, upload, upload_name(upload)))

    def choices(files_: list[str] | None) -> Any:
        names = [(upload_name(f), i) for i, f in enumerate(files_ or [])]
        return gr.Dropdown(choices=names, value=0 if names else None)

    with gr.Column(elem_id="points"):
        gr.Markdown(POINTS_INTRO)
        with gr.Row():
            photo = gr.Dropdown(choices=[], label="Photo", elem_id="points-photo", scale=3)
            open_button = gr.Button("Open", elem_id="points-open", scale=1)
        with gr.Row():
            picture = gr.Image(
                label="Click where you know the colour", type="pil", format="png", interactive=False,
                elem_id="points-canvas", buttons=[], scale=3,
            )
            with gr.Column(scale=1):
                colour = gr.ColorPicker("#2a5caa", label="Colour", elem_id="points-colour")
                size = gr.Slider(1, 64, value=9, step=1, label="Point size (pixels of the photo)",
                                 elem_id="points-size")
                with gr.Row():
                    undo = gr.Button("Undo", elem_id="points-undo", size="sm")
                    clear = gr.Button("Clear", elem_id="points-clear", size="sm")
                go = gr.Button("Colorize with points", variant="primary", elem_id="points-colorize")
                download = gr.DownloadButton("Download the photo", visible=False, elem_id="points-download")
                save = gr.DownloadButton("Save points (JSON)", visible=False, elem_id="points-save")
                load_button = gr.UploadButton("Load points (JSON)", file_types=[".json"], elem_id="points-load")
        status = gr.Markdown(pts.describe(None), elem_id="points-status")
        state = gr.State(None)

    outputs = [state, picture, status, download, save]
    files.change(choices, inputs=files, outputs=photo, queue=False, show_progress="hidden", api_visibility="private")
    open_button.click(
        guarded(open_photo), inputs=[files, photo, model], outputs=[*outputs, size], api_visibility="private",
        show_progress_on=status,
    )
    picture.select(guarded(click), inputs=[state, colour, size], outputs=outputs, api_visibility="private",
                   show_progress="hidden")
    undo.click(guarded(lambda s: shown(pts.undo_point(s))), inputs=state, outputs=outputs,
               api_visibility="private", show_progress="hidden")
    clear.click(guarded(lambda s: shown(pts.clear_points(s))), inputs=state, outputs=outputs,
                api_visibility="private", show_progress="hidden")
    go.click(guarded(colorize), inputs=[state, model], outputs=outputs, api_visibility="private",
             show_progress_on=status)
    load_button.upload(guarded(load), inputs=[state, load_button], outputs=outputs, api_visibility="private")
