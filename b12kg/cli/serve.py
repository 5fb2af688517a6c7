"""The services: the CDS Hooks service (cds-hooks); the cohort's SPARQL endpoint is `serve` (cli/cohort.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .common import parse_as_of
from .group import main


@main.command("cds-hooks")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback by default; anything else is reachable from the network).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--fhir-server", "fhir_servers", multiple=True, metavar="URL",
              help="Allow-list a FHIR server (https base URL; repeatable) that missing prefetch may be read from with the "
                   "request's token. Without one the service is prefetch-only: it fetches nothing (412 when data is missing).")
@click.option("--fhir-allow-private", is_flag=True,
              help="Tests, or an intranet FHIR server you trust: read allow-listed servers at loopback and private addresses "
                   "(plain http on loopback only). Link-local addresses are never read.")
@click.option("--allow-origin", "allowed_origins", multiple=True, metavar="ORIGIN",
              help="Allow cross-origin calls from this browser origin, e.g. https://sandbox.cds-hooks.org (repeatable). "
                   "None by default; '*' only with --jwt-issuer.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Answer to this Host name besides the loopback names and the --host address (repeatable).")
@click.option("--head-timeout", default=10.0, show_default=True, type=click.FloatRange(0.2, 600),
              help="Seconds a client may take to send a request's head (request line and headers).")
@click.option("--public-url", "--jwt-audience", "public_url", metavar="URL",
              help="The service's URL as clients call it, e.g. https://cds.example.org: the JWT audience and the base of the "
                   "cards' links (default http://HOST:PORT). Never taken from a request.")
@click.option("--as-of", "as_of", callback=lambda c, p, v: None if v is None else parse_as_of(c, p, v), metavar="YYYY-MM-DD",
              help="Assess as of this date instead of today (demonstrations, tests).")
@click.option("--feedback-db", type=click.Path(path_type=Path, dir_okay=False),
              help="SQLite file for issued cards and feedback (default: $XDG_STATE_HOME/b12kg/cds-feedback.sqlite3).")
@click.option("--store", "cohort_store", type=click.Path(path_type=Path, file_okay=False),
              help="Also copy every feedback item into the cohort store DIR (PROV-linked to the card's conclusions; "
                   "queried by the named query override-rate).")
@click.option("--cache-size", default=256, show_default=True, type=click.IntRange(0, 100_000),
              help="Assessments kept by input hash (a chart opened again unchanged is not re-assessed); 0 disables.")
@click.option("--jwt-issuer", "jwt_issuers", multiple=True, metavar="ISS",
              help="Require a JWT bearer token from this issuer (repeat for several). Off by default: no authentication.")
@click.option("--jwks", "jwks_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="JWKS file with the issuers' public keys (needed with --jwt-issuer; never fetched).")
@click.option("--smart-client-id", metavar="ID",
              help="The client id an EHR gave b12kg as a SMART app (public client; launch URL PUBLIC_URL/smart/launch, "
                   "redirect URI PUBLIC_URL/smart/callback): cards then carry a smart link to their explanation. Launches "
                   "are accepted only from --fhir-server servers. Off by default.")
@click.option("--smart-scope", default="launch", show_default=True, metavar="SCOPES",
              help="The scopes the SMART app asks for (it reads no FHIR data: the launch context is enough).")
def cds_hooks(host: str, port: int, fhir_servers: tuple[str, ...], fhir_allow_private: bool, allowed_origins: tuple[str, ...],
              allowed_hosts: tuple[str, ...], head_timeout: float, public_url: str | None, as_of: date | None,
              feedback_db: Path | None, cohort_store: Path | None, cache_size: int,
              jwt_issuers: tuple[str, ...], jwks_file: Path | None, smart_client_id: str | None, smart_scope: str) -> None:
    """Run the CDS Hooks 2.0 service: discovery at /cds-services, the services
    b12-patient-view and b12-order-sign, feedback at /cds-services/{id}/feedback, and
    the explanation pages the cards link to (directly, and through a SMART app launch
    with --smart-client-id). Needs the 'serve' extra:
    pip install 'b12kg[serve]'."""
    try:
        from ..serve.cds import Config, serve
    except ImportError as exc:
        raise click.ClickException(f"the CDS Hooks service needs the 'serve' extra (pip install 'b12kg[serve]'): {exc}") from None
    if jwt_issuers and not jwks_file:
        raise click.BadParameter("--jwt-issuer needs --jwks FILE", param_hint="--jwks")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"b12kg: warning: binding {host}: the service is reachable from the network"
                   f"{'' if jwt_issuers else ' and requires no authentication (see --jwt-issuer)'}", err=True)
    config = Config(host=host, port=port, fhir_servers=list(fhir_servers), allow_private_fhir=fhir_allow_private,
                    allowed_origins=list(allowed_origins), allowed_hosts=list(allowed_hosts), as_of=as_of,
                    jwt_issuers=list(jwt_issuers), jwks_file=jwks_file, cache_size=cache_size, head_seconds=head_timeout,
                    public_url=public_url, smart_client_id=smart_client_id, smart_scope=smart_scope)
    if feedback_db:
        config.feedback_db = feedback_db
    config.cohort_store = cohort_store
    try:
        serve(config)
    except ValueError as exc:  # a configuration the service refuses (plain http FHIR server, '*' without JWT ...)
        raise click.UsageError(str(exc)) from None
