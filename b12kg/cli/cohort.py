"""The cohort commands: load, cohort, publish, report and serve (the read-only SPARQL endpoint).

Heavy imports happen inside each command, so `b12kg --help` stays fast.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import click

from .common import parse_as_of
from .group import main

store_argument = click.argument("directory", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))


@main.command("load")
@store_argument
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def load_command(directory: Path, files: tuple[Path, ...]) -> None:
    """Load assessments already written as RDF (b12kg assess --format trig, one
    assessment per file; folders are searched for .trig and .nq files) into the cohort
    store DIR, as one transactional load: any bad file leaves the store unchanged,
    and an assessment already in the store is not added twice."""
    from ..cohort.store import RDF_SUFFIXES, CohortStore, read_dataset
    from ..knowledge import load_knowledge

    paths = []
    for path in files:
        paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in RDF_SUFFIXES) if path.is_dir() else [path]

    def work():
        cohort = CohortStore(directory)
        try:
            with cohort.loading(load_knowledge().quads) as loader:
                for path in paths:
                    loader.add_dataset(read_dataset(path), source=str(path))
        finally:
            cohort.close()
        return loader

    loader = work()
    click.echo(f"b12kg: store {directory}: {loader.added} assessments added, {loader.skipped} already there", err=True)


def _params(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not key=value", param_hint="--param")
        out[name.strip()] = text
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def sheet_cell(value: str) -> str:
    """A value safe in a spreadsheet: one that starts like a formula (= + - @, tab, return)
    and is not a number gets a leading apostrophe, so it is shown, never run."""
    return f"'{value}" if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value) else value


def render_rows(solutions, fmt: str) -> str:
    """A named query's rows: `table` for a terminal (control characters shown as escapes, as
    `explain` does), `csv`/`tsv` for spreadsheets (lexical values, formulas neutralised),
    `json` the SPARQL 1.1 results JSON."""
    from ..cohort import named
    from ..errors import printable

    if fmt == "json":
        return named.render(solutions, fmt)
    names = [v.value for v in solutions.variables]
    rows = [["" if row[n] is None else row[n].value for n in names] for row in solutions]
    if fmt == "table":
        return named.table(names, [[printable(value, None) for value in row] for row in rows])
    out = io.StringIO()
    writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n" if fmt == "csv" else "\n")
    writer.writerow(names)
    writer.writerows([sheet_cell(value) for value in row] for row in rows)
    return out.getvalue()


@main.command("cohort")
@store_argument
@click.argument("name", required=False)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of the query (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json"]), default="table", show_default=True,
              help="json is the SPARQL 1.1 Query Results JSON format; csv and tsv hold the values, for spreadsheets "
                   "(a value that would start a formula gets a leading ').")
def cohort_command(directory: Path, name: str | None, params: tuple[str, ...], fmt: str) -> None:
    """Run a named population query (queries/cohort/NAME.rq) over the cohort store DIR;
    without NAME, list the queries with what each answers and its parameters.

    \b
    Example:
      b12kg cohort store/ overdue-follow-ups --param date=2027-03-01 --format csv
    """
    from ..cohort import named

    if name is None:
        for query in named.named_queries().values():
            click.echo(f"{query.name}\n    {' '.join(query.answers.split())}")
            for param in query.params:
                default = f", default {param.default}" if param.default else ""
                click.echo(f"    --param {param.name}=<xsd:{param.datatype}{default}>")
        return
    given = _params(params)

    def work():
        from ..cohort.store import CohortStore

        query = named.get(name)
        cohort = CohortStore(directory, read_only=True)
        return render_rows(named.run(cohort.store, query, given), fmt)

    click.echo(work(), nl=False)


@main.command("publish")
@store_argument
@click.option("--to", "url", required=True, metavar="URL",
              help="The Graph Store Protocol endpoint, e.g. http://127.0.0.1:7878/store (Oxigraph) or "
                   "https://host/DATASET/data (Fuseki).")
@click.option("--allow-http", is_flag=True, help="Allow plain http to a host other than this machine.")
@click.option("--user", help="User for HTTP basic authentication (password from $B12KG_PUBLISH_PASSWORD).")
def publish_command(directory: Path, url: str, allow_http: bool, user: str | None) -> None:
    """Copy the cohort store DIR into another SPARQL server through the SPARQL 1.1 Graph
    Store HTTP Protocol: every named graph is PUT (replaced), so publishing twice does
    not duplicate anything."""
    import os

    from ..cohort.publish import check_target, publish, shown
    from ..cohort.store import CohortStore

    def work():
        check_target(url, allow_http)
        cohort = CohortStore(directory, read_only=True)
        if cohort.pending_loads():
            from ..errors import InputRejected

            raise InputRejected.one(str(directory), "the store has an unfinished load: run b12kg load on it first to roll it back")
        return publish(cohort.store, url, allow_http, user, os.environ.get("B12KG_PUBLISH_PASSWORD"))

    done = work()
    click.echo(f"b12kg: published {done.graphs} graphs ({done.triples} triples) to {shown(url)}", err=True)


@main.command("report")
@store_argument
@click.option("--html", "html_file", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Write the page to FILE.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Date follow-ups are overdue as of (default: today).")
def report_command(directory: Path, html_file: Path, as_of: str | None) -> None:
    """Write the cohort page: one self-contained HTML file with the counts by status,
    action, risk factor and data-quality code, and plots of the status distribution,
    serum B12 against the guideline's cut-offs, and follow-ups overdue by month."""
    from datetime import date

    from ..cohort.page import render
    from ..cohort.store import CohortStore

    day = parse_as_of(None, None, as_of) if as_of else date.today()
    html_file.write_text(render(CohortStore(directory, read_only=True).store, day), encoding="utf-8")
    click.echo(f"b12kg: wrote {html_file}", err=True)


@main.command("serve")
@store_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a user query may take, writing its answer included.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="Rows (or triples) a user query may return.")
@click.option("--max-answer-bytes", default=64 * 1024 * 1024, show_default=True, type=click.IntRange(1024, 2**40),
              help="Bytes one answer may have (serialised in the query's sandbox; a larger one is refused).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Answer to this Host name besides the loopback names and the --host address (repeatable).")
@click.option("--allow-origin", "allowed_origins", multiple=True, metavar="ORIGIN",
              help="Allow cross-origin requests from this browser origin (repeatable; none by default).")
@click.option("--head-timeout", default=10.0, show_default=True, type=click.FloatRange(0.2, 600),
              help="Seconds a client may take to send a request's head (request line and headers).")
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve_command(directory: Path, host: str, port: int, timeout: float, max_rows: int, max_answer_bytes: int,
                  allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...], head_timeout: float, verbose: bool) -> None:
    """Serve the cohort store DIR read-only over the SPARQL 1.1 Protocol at /sparql
    (GET, POST form, POST application/sparql-query; SPARQL JSON, XML, CSV, TSV, and
    Turtle, N-Triples, JSON-LD by content negotiation), the named queries at
    /queries/NAME, and a page listing them at /. Updates, SERVICE, LOAD and FROM are
    refused; a query past --timeout (its answer's writing included) is stopped and
    answered with an error, or cut off. Only the loopback names (and --allowed-host
    names) are answered; cross-origin requests only from --allow-origin origins."""
    from ..net import is_loopback
    from ..query import QueryLimits
    from ..serve.sparql import Endpoint, create_app, serve

    endpoint = Endpoint(directory, QueryLimits(timeout=timeout, max_rows=max_rows, max_answer_bytes=max_answer_bytes), host=host,
                        allowed_hosts=allowed_hosts, allowed_origins=allowed_origins)
    try:
        app = create_app(endpoint)  # the store opens and the configuration holds before binding
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not is_loopback(host):
        click.echo(f"b12kg: warning: serving patient data on {host}, reachable from other machines, without "
                   "authentication or encryption: put it behind an authenticating TLS proxy", err=True)

    def listening(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        click.echo(f"b12kg: serving {directory} at http://{shown}:{bound_port}/sparql (Ctrl-C stops)", err=True)

    serve(app, endpoint.host, port, head_seconds=head_timeout, verbose=verbose, on_listening=listening)
