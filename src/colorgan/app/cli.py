"""``colorgan-app --ckpt PATH``: serve the page on this computer, with its safety settings, until Ctrl-C.

The safety settings, as people expect of a local tool:

* it listens on 127.0.0.1 unless ``--host`` says otherwise, and warns when that makes it reachable from other
  computers; a public share link only with ``--share``;
* the page sends a model's label, never a path: checkpoints come from the command line only;
* Gradio serves only the app's own temporary folder (uploads and results, removed on exit): no allowed paths, its
  examples cache moved in there, and the checkpoints, the working folder and the home folder blocked;
* uploads are limited in size (``--max-upload-mb``), photos in pixels (``--max-pixels``), one job runs at a time and
  at most ``--queue-size`` wait; only the newest ``--keep-jobs`` jobs keep their results and uploads, fewer when
  they would take more than ``--max-temp-gb`` of disk;
* only requests addressed to the page's own address (``--host`` and ``--port``, its loopback names, or an
  ``--allowed-host``) are answered, and none sent by another web site or by a page on another local port
  (:mod:`colorgan.app.guard`: DNS rebinding, cross-site uploads);
* Gradio's analytics and version check are off: the page starts and works without internet.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.data.host_memory import keep_freed_memory

PROG = "colorgan-app"
DEFAULT_MAX_TEMP_GB = 2.0  # ten jobs of a few dozen phone photos each, with their zips


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A page in your browser to colorize photos: drop photos, compare before and after, download. "
        "It runs on this computer only (127.0.0.1) unless --host says otherwise.",
        epilog="example: colorgan-app --ckpt logs/demo/runs/<time>/checkpoints/last.ckpt   (then open the address "
        "it prints)",
    )
    parser.add_argument(
        "--ckpt", action="append", required=True, metavar="PATH",
        help="a training checkpoint (.ckpt) or a colorgan-export --format weights file; give --ckpt several times "
        "to choose between models on the page",
    )
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it to your network)",
    )
    parser.add_argument(
        "--allowed-host", action="append", default=[], metavar="NAME",
        help="another address the page may be opened at: NAME (a name of this computer, at --port), NAME:PORT (a "
        "tunnel, e.g. ssh -L 8000:localhost:7860 gives localhost:8000) or a proxy's https://NAME[:PORT]. Requests "
        "to or from any other address (another site, another port on this computer) are refused; --host, --port "
        "and their loopback names are always allowed",
    )
    parser.add_argument(
        "--port", type=int, default=7860,
        help="port to listen on (default 7860); pages on other ports of this computer cannot use this one",
    )
    parser.add_argument("--device", default="auto", help="auto (a GPU when there is one) | cpu | cuda | cuda:N")
    parser.add_argument(
        "--temperature", type=float, default=None, metavar="T",
        help="where the page's vividness slider starts for a model trained with model.head=classification: the "
        "annealed mean's temperature, from 0 (the most likely colour: vivid) to 1 (the mean colour: safe); default: "
        "each model's own (0.38 unless trained otherwise). Refused when every model predicts ab directly (regression)",
    )
    parser.add_argument(
        "--size", type=int, default=None, metavar="N",
        help="side of the square the generator works at (default: the size it was trained at)",
    )
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse photos larger than this many pixels (default {DEFAULT_MAX_PIXELS:,}; 0 = no limit)",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=200, metavar="MB",
        help="refuse uploaded files larger than this (default 200 MB)",
    )
    parser.add_argument("--max-files", type=int, default=100, metavar="N", help="photos per job (default 100)")
    parser.add_argument(
        "--queue-size", type=int, default=8, metavar="N",
        help="jobs that may wait while one runs; more are turned away until one finishes (default 8)",
    )
    parser.add_argument(
        "--keep-jobs", type=int, default=10, metavar="N",
        help="keep the results of the newest N jobs; older ones, and the uploads they took, are deleted (default 10)",
    )
    parser.add_argument(
        "--max-temp-gb", type=float, default=DEFAULT_MAX_TEMP_GB, metavar="GB",
        help="keep uploads and results within this much disk: older jobs go first, the newest always stays "
        f"(default {DEFAULT_MAX_TEMP_GB:g} GB)",
    )
    parser.add_argument(
        "--share", action="store_true",
        help="also make a public link through Gradio's share servers (anyone with the link can use the page)",
    )
    return parser


def is_loopback(host: str) -> bool:
    """True when ``host`` is reachable from this computer only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_warning(host: str) -> str | None:
    """What to tell the user when ``host`` opens the page to other computers; ``None`` for a loopback address."""
    if is_loopback(host):
        return None
    return (
        f"listening on {host}, so other computers on your network can open this page, colorize photos on this "
        "computer and download every result. Leave out --host to keep it to this computer (127.0.0.1)."
    )


def served_folder_settings(temp_dir: Path) -> dict[str, str]:
    """Environment for Gradio that keeps every file it writes or serves inside ``temp_dir``, and keeps it quiet.

    Gradio serves the files of its upload folder (``GRADIO_TEMP_DIR``) and of its examples cache
    (``GRADIO_EXAMPLES_CACHE``, else ``.gradio/cached_examples`` under the working folder), plus ``allowed_paths``.
    They are read when Gradio is imported and when the page is built, so set these first.
    """
    return {
        "GRADIO_TEMP_DIR": str(temp_dir),
        "GRADIO_EXAMPLES_CACHE": str(temp_dir / "examples"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_SHARE": "False",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


def blocked_paths(temp_dir: Path, checkpoints: Sequence[Path]) -> list[str]:
    """Paths Gradio must never serve, for defence in depth: the checkpoints and their folders, the working folder,
    the home folder. A folder that holds ``temp_dir`` (``/tmp`` when run from there) is left out, or the page could
    not show its own results."""
    temp_dir = temp_dir.resolve()
    candidates = [Path.cwd(), Path.home()]
    for ckpt in checkpoints:
        candidates += [ckpt, ckpt.parent]
    blocked: list[str] = []
    for path in (p.resolve() for p in candidates):
        if path == temp_dir or path in temp_dir.parents or str(path) in blocked:
            continue
        blocked.append(str(path))
    return blocked


def _stop_on_sigterm() -> None:
    """Make SIGTERM (and SIGHUP) stop the server like Ctrl-C, so the temporary folder is removed on those too."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, interrupt)


def serve(args: argparse.Namespace, temp_dir: Path) -> int:
    """Load the models, build the page and serve it from ``temp_dir`` until interrupted. Returns the exit code."""
    os.environ.update(served_folder_settings(temp_dir))
    from colorgan.app.page import CSS, HEAD, build_page, require_gradio
    from colorgan.checkpoints.reading import CheckpointError

    try:
        require_gradio()
    except ImportError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    from colorgan.app.guard import PageOrigins, RequestGuard, guard_first
    from colorgan.app.handlers import Models

    try:
        allowed = PageOrigins(args.host, args.port, args.allowed_host)
    except ValueError as err:
        print(f"{PROG}: error: --allowed-host: {err}", file=sys.stderr)
        return 2
    try:
        models = Models(
            args.ckpt, device=args.device, size=args.size, max_pixels=args.max_pixels or None,
            temperature=args.temperature,
        )
    except (CheckpointError, ValueError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    print(f"Models:\n{models.describe()}", file=sys.stderr)

    page = build_page(
        models, temp_dir / "results", max_files=args.max_files, keep_jobs=args.keep_jobs, uploads_dir=temp_dir,
        max_temp_bytes=int(args.max_temp_gb * 1024**3),
    )
    page.queue(default_concurrency_limit=1, max_size=args.queue_size)
    warning = host_warning(args.host)
    if warning:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.share:
        print(
            f"{PROG}: warning: --share makes a public link through Gradio's servers: anyone who has it can use the "
            "page. It needs internet.",
            file=sys.stderr,
        )
    print(f"Uploads and results live in {temp_dir} (removed when the page stops).", file=sys.stderr)
    from starlette.middleware import Middleware

    _stop_on_sigterm()
    try:
        page.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            inbrowser=False,
            prevent_thread_lock=True,
            quiet=True,  # its hints name launch() arguments, not this command's options
            # only the page's own messages (gr.Error) reach the browser: Gradio's others name server paths (its
            # blocked-paths refusal lists the working folder, the home folder and the checkpoints)
            show_error=False,
            max_file_size=int(args.max_upload_mb * 1024 * 1024),
            allowed_paths=[],
            blocked_paths=blocked_paths(temp_dir, [Path(p).expanduser() for p in args.ckpt]),
            ssr_mode=False,
            mcp_server=False,
            enable_monitoring=False,
            pwa=False,
            footer_links=[],
            css=CSS,
            head=HEAD,
            # the guard sits in front of every route Gradio adds, uploads and file downloads included, and in front
            # of Gradio's own CORS layer (guard_first)
            app_kwargs={"middleware": [Middleware(RequestGuard, allowed=allowed)], "lifespan": guard_first},
            num_workers=0,  # GRADIO_NUM_WORKERS would serve files and uploads from processes the guard is not in
        )
    except OSError as err:
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port} ({err}); pick another --port", file=sys.stderr)
        page.close(verbose=False)
        return 2
    print(f"Open {page.local_url} in your browser. Ctrl-C stops the page.", flush=True)
    if args.share and page.share_url:
        allowed.add(page.share_url)  # the share servers pass on the link's own name
        print(f"Public link: {page.share_url}", flush=True)
    try:
        page.block_thread()
    finally:
        page.close(verbose=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``colorgan-app``)."""
    keep_freed_memory()
    # refused requests and photos that could not be done are one line each in the server's log
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.host.strip():  # Gradio would listen on 127.0.0.1, the page's addresses would not say so
        parser.error("--host must name an address, e.g. 127.0.0.1 (the default) or 0.0.0.0")
    if not 0 < args.port <= 65535:  # 0 (any free port) would leave the page not knowing its own address
        parser.error("--port must be between 1 and 65535")
    for name in ("max_upload_mb", "max_files", "queue_size", "keep_jobs", "max_temp_gb"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.size is not None and args.size < 1:
        parser.error("--size must be positive")
    if args.temperature is not None and not 0 <= args.temperature <= 1:
        parser.error("--temperature must be between 0 (the most likely colour: vivid) and 1 (the mean colour: safe)")
    with tempfile.TemporaryDirectory(prefix="colorgan-app-") as tmp:
        return serve(args, Path(tmp).resolve())


if __name__ == "__main__":
    sys.exit(main())
