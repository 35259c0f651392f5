"""The page's layout in Gradio: the drop zone, the model menu, and a row per photo with its before/after slider."""

from __future__ import annotations

import functools
import html
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorgan.app import points as pts
from colorgan.app.handlers import Batch, Models, colorize_uploads, prune_jobs, upload_name
from colorgan.data.host_memory import release_freed_memory
from colorgan.nn.classification import DEFAULT_TEMPERATURE

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "colorgan[app]"'

BUTTON = "Colorize"
BUSY_BUTTON = "Colorizing…"

VIVIDNESS = "Vividness (temperature T)"
VIVIDNESS_HELP = (
    "Vividness: the annealed mean's temperature. 0 = the most likely colour (vivid), 1 = the mean colour (safe); "
    "the model's own default is {own:g}."
)
NO_VIVIDNESS = "This model predicts ab directly (trained with model.head=regression): it has no temperature to set."

# Gradio draws a job's queue position and progress bar over the event's output, here the status line; an empty
# Markdown is 0 px tall with overflow:auto (set inline, hence !important), which would clip them out of sight.
CSS = """
#status { min-height: 4.5em; overflow: visible !important; }
#points-canvas img { cursor: crosshair; }
#points-message:empty { display: none; }
.colorgan-error { color: #b00020; padding: 0.6em 0.8em; border: 1px solid #f3c2c8; border-radius: 6px;
                  background: #fff5f6; }
"""

# The points editor takes each click where the mouse was, as a position on the picture in its own pixels (pixel i
# covers [i, i + 1)): Gradio's select event rounds that to the nearest pixel edge, so a click on a pixel's right
# half landed on the next pixel and one on the last row or column was dropped. The position goes to the hidden
# textbox #points-click, whose change the page listens to; the geometry is Gradio's own (object-fit scale-down).
HEAD = """<script>
document.addEventListener("click", (event) => {
  const canvas = event.target instanceof Element ? event.target.closest("#points-canvas") : null;
  const img = canvas ? canvas.querySelector("img") : null;
  const box = document.querySelector("#points-click textarea, #points-click input");
  if (!img || !box || !img.naturalWidth) return;
  const r = img.getBoundingClientRect();
  const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight, 1);
  const x = (event.clientX - r.left - (r.width - img.naturalWidth * s) / 2) / s;
  const y = (event.clientY - r.top - (r.height - img.naturalHeight * s) / 2) / s;
  if (!(x >= 0 && y >= 0 && x < img.naturalWidth && y < img.naturalHeight)) return;
  box.value = JSON.stringify({x: x, y: y, width: img.naturalWidth, height: img.naturalHeight, at: Date.now()});
  box.dispatchEvent(new Event("input", {bubbles: true}));
}, true);
</script>"""


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


def vividness(models: Models, label: str | None) -> dict[str, Any]:
    """The vividness slider's settings for the model ``label``: at a classification model's own temperature, or
    disabled with the reason for a regression model."""
    own = models.temperature(label)
    if own is None:
        return {"value": DEFAULT_TEMPERATURE, "interactive": False, "info": NO_VIVIDNESS}
    return {"value": own, "interactive": True, "info": VIVIDNESS_HELP.format(own=own)}


def job_temperature(models: Models, label: str | None, value: float | None) -> float | None:
    """The temperature a job runs at: the slider's ``value`` for a classification model; ``None`` (none at all)
    for a regression model, whose slider is disabled but still sends its value."""
    return None if value is None or models.temperature(label) is None else float(value)


def build_page(
    models: Models,
    results_dir: Path,
    *,
    max_files: int = 100,
    keep_jobs: int = 10,
    uploads_dir: Path | None = None,
    max_temp_bytes: int | None = None,
) -> gr.Blocks:
    """The Blocks of the page; :mod:`colorgan.app.cli` queues and launches it.

    Args:
        models: the checkpoints of the command line (the page offers their labels, never paths).
        results_dir: where job folders go; it must be inside the folder Gradio serves (``GRADIO_TEMP_DIR``).
        max_files: the most photos one press of *Colorize* takes.
        keep_jobs: how many of the newest jobs keep their results (see :func:`~colorgan.app.handlers.prune_jobs`).
        uploads_dir: Gradio's upload folder (``GRADIO_TEMP_DIR``), whose old uploads go with old jobs.
        max_temp_bytes: the most bytes jobs and uploads may take; older jobs go first (``None``: no limit).
    """
    prune = functools.partial(prune_jobs, results_dir, keep_jobs, uploads_dir, max_temp_bytes)
    gr = require_gradio()

    def run(files: list[str] | None, model: str | None, compare: bool, vivid: float | None,
            progress=gr.Progress()):  # noqa: B008
        try:
            batch = colorize_uploads(
                files, models, results_dir, model=model, compare=compare,
                progress=lambda fraction, desc: progress(fraction, desc=desc), max_files=max_files,
                temperature=job_temperature(models, model, vivid),
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
            prune()
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
                vivid = gr.Slider(0, 1, step=0.01, label=VIVIDNESS, elem_id="vividness",
                                  **vividness(models, models.labels[0]))
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
            _points_section(gr, models, results_dir, files, model, vivid, prune)

        def follow_model(label: str | None) -> Any:
            """The slider at the chosen model's own temperature, or disabled for a regression model."""
            return gr.Slider(**vividness(models, label))

        model.change(follow_model, inputs=model, outputs=vivid, queue=False, show_progress="hidden",
                     api_visibility="private")

        # The button says the page is busy from the press until the job ends, failed or not (.then runs either way).
        go.click(
            lambda: gr.Button(BUSY_BUTTON, interactive=False), outputs=go, queue=False, trigger_mode="once",
            show_progress="hidden", api_visibility="private",
        ).then(
            run, inputs=[files, model, compare, vivid], outputs=[results, status, download_all], api_name="colorize",
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
    gr: Any, models: Models, results_dir: Path, files: Any, model: Any, vivid: Any, prune: Any
) -> None:
    """The colour points editor (:mod:`colorgan.app.points`) under the results, for a page with a hinted model; it
    colorizes with the page's model and vividness.

    A refused action (a bad points file, points for a model that takes none, too many points) leaves the photo and
    its points as they were and says why beside the photo: never an error box in place of the photo.
    """

    def shown(state: pts.PointsState | None, view: str = pts.VIEW_POINTS, note: str | None = None,
              error: str | None = None) -> tuple:
        """What every points event updates: state, picture, status line, message beside the photo, downloads."""
        saved = pts.points_file(state)
        output = state["output"] if state else None
        label = "Click where you know the colour"
        if state and not state.get("takes_hints", True):
            label = "This model takes no colour points"
        if error:
            message = f'<div class="colorgan-error">{html.escape(error, quote=False)}</div>'
        else:
            message = f"note: {html.escape(note)}" if note else ""
        return (
            state, gr.update(value=pts.canvas(state, view=view), label=label), pts.describe(state), message,
            gr.DownloadButton(value=output, visible=output is not None),
            gr.DownloadButton(value=str(saved) if saved else None, visible=saved is not None),
        )

    def guarded(action: Any) -> Any:
        """``action(state, view, ...)`` with its refusals said beside the photo, which stays as it was."""

        @functools.wraps(action)
        def run(state: pts.PointsState | None, view: str, *args: Any) -> tuple:
            try:
                return action(state, view, *args)
            except ValueError as err:  # HintError included: the user's points or photo, said on the page
                return shown(state, view, error=_sentence(str(err)))
            except Exception:
                log.exception("colour points: %s failed", getattr(action, "__name__", "an action"))
                error = "the server could not do that; its log says why. The photo and its points are as they were."
                return shown(state, view, error=_sentence(error))
        return run

    def open_photo(state: pts.PointsState | None, view: str, files_: list[str] | None, index: int | None,
                   label: str | None, vivid_: float | None = None, progress=gr.Progress()) -> tuple:  # noqa: B008
        progress(None, desc="Opening the photo and colorizing it…")
        try:
            state, note = pts.open_photo(files_, index, models, results_dir, label,
                                         job_temperature(models, label, vivid_))
        finally:
            prune()
            release_freed_memory()
        return shown(state, pts.VIEW_POINTS, note=note)

    def colorize(state: pts.PointsState | None, view: str, label: str | None, vivid_: float | None = None,
                 progress=gr.Progress()) -> tuple:  # noqa: B008
        n = len(state["points"]) if state else 0
        progress(None, desc=f"Colorizing with {n} point{'' if n == 1 else 's'}…")
        try:
            temperature = job_temperature(models, label, vivid_)
            return shown(pts.colorize_points(state, models, label, temperature), pts.VIEW_POINTS)
        finally:
            prune()
            release_freed_memory()

    def click(state: pts.PointsState | None, view: str, colour: str, size: float, where: str) -> tuple:
        try:
            at = json.loads(where or "null")
            x, y = float(at["x"]), float(at["y"])
        except (ValueError, TypeError, KeyError):
            return shown(state, view)  # not a click on the picture
        return shown(pts.add_point(state, x, y, colour, size), view)

    def load(state: pts.PointsState | None, view: str, upload: str | None) -> tuple:
        if not upload:
            return shown(state, view)
        loaded, note = pts.load_points(state, upload, upload_name(upload))
        return shown(loaded, view, note=note)

    def sizes(state: pts.PointsState | None) -> Any:
        if not state or not state.get("output"):
            return gr.Slider()
        default, largest = pts.point_size_range(state["size"])
        return gr.Slider(value=default, maximum=largest)

    def choices(files_: list[str] | None) -> Any:
        names = [(upload_name(f), i) for i, f in enumerate(files_ or [])]
        return gr.Dropdown(choices=names, value=0 if names else None)

    def busy(button: Any, text: str) -> tuple[Any, Any]:
        """(a click that makes ``button`` say ``text`` and wait, what sets it back): the page shows it is working
        beside the photo, where the eye is, for as long as the job runs."""
        label = button.value
        return (lambda: gr.Button(text, interactive=False)), (lambda: gr.Button(label, interactive=True))

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
                message = gr.Markdown(elem_id="points-message")
                view = gr.Radio(list(pts.VIEWS), value=pts.VIEW_POINTS, label="Show", elem_id="points-view")
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
        where = gr.Textbox(visible="hidden", elem_id="points-click")  # set by HEAD's click listener
        state = gr.State(None)

    outputs = [state, picture, status, message, download, save]
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    files.change(choices, inputs=files, outputs=photo, queue=False, **quiet)
    opening, opened = busy(open_button, "Opening…")
    open_button.click(opening, outputs=open_button, queue=False, trigger_mode="once", **quiet).then(
        guarded(open_photo), inputs=[state, view, files, photo, model, vivid], outputs=outputs,
        api_visibility="private", show_progress_on=[picture, status],
    ).then(sizes, inputs=state, outputs=size, queue=False, **quiet).then(opened, outputs=open_button, queue=False,
                                                                         **quiet)
    where.change(guarded(click), inputs=[state, view, colour, size, where], outputs=outputs, **quiet)
    undo.click(guarded(lambda s, v: shown(pts.undo_point(s), v)), inputs=[state, view], outputs=outputs, **quiet)
    clear.click(guarded(lambda s, v: shown(pts.clear_points(s), v)), inputs=[state, view], outputs=outputs, **quiet)
    view.change(lambda s, v: pts.canvas(s, view=v), inputs=[state, view], outputs=picture, **quiet)
    colorizing, colorized = busy(go, "Colorizing…")
    go.click(colorizing, outputs=go, queue=False, trigger_mode="once", **quiet).then(
        guarded(colorize), inputs=[state, view, model, vivid], outputs=outputs, api_visibility="private",
        show_progress_on=[picture, status],
    ).then(lambda: pts.VIEW_POINTS, outputs=view, queue=False, **quiet).then(colorized, outputs=go, queue=False,
                                                                              **quiet)
    load_button.upload(guarded(load), inputs=[state, view, load_button], outputs=outputs, api_visibility="private")


def _sentence(text: str) -> str:
    """``text`` as a sentence for the page: a capital first letter and a full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
