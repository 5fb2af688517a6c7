"""The b12kg command group, and the one place errors become exit codes (errors.exit_code)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import EXIT_INTERNAL, EnvironmentProblem, InputRejected, exit_code, rejection_report
from ..version import __version__


class Group(click.Group):
    """Every command's errors end the same way: a rejected input with its problems (exit 2), a
    machine that cannot do it with what to do (exit 1), any other error as an internal error
    (exit 1; --debug shows the traceback). Never a traceback otherwise."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputRejected as exc:
            click.echo(rejection_report(exc.problems), err=True, nl=False)
            sys.exit(exit_code(exc))
        except EnvironmentProblem as exc:
            click.echo(f"b12kg: {exc}", err=True)
            sys.exit(exit_code(exc))
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            click.echo(f"b12kg: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b12kg")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.option("--guideline", "guidelines", multiple=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Also load the guideline pack in DIR (with ontology/, and optionally shapes/ and queries/, inside); repeatable. "
                   "Installed packs (entry points 'b12kg.guidelines') and B12KG_GUIDELINES are loaded too.")
@click.pass_context
def main(ctx: click.Context, debug: bool, guidelines: tuple[Path, ...]) -> None:
    """b12kg: the guideline "Treatment of Peripheral Neuropathy with Mildly Low
    Vitamin B12" as an executable, explainable knowledge graph.

    Patient facts (a FHIR R4 Bundle or native RDF) are validated with SHACL,
    classified by an OWL reasoner against the guideline ontology, and assessed by
    SPARQL rules; every conclusion names the guideline statement, the patient facts
    and the rule it rests on.

    \b
    Exit codes: 0 assessed, 2 input rejected (the message names the file, the
    resource, the field and the reason), 1 internal error or a machine that
    cannot do it (no Java for --reasoner hermit, an output that cannot be
    written: full disk, read-only file system; the message says what to do).

    \b
    Environment: B12KG_TIME_BUDGET, seconds one patient may take (default 30);
    a patient over it is rejected (exit 2), even inside a step that never returns.
    """
    ctx.obj = {"debug": debug}
    if guidelines:
        from .. import resources

        resources.add_guideline_dirs(guidelines)
        resources.packs()
