"""Copy a cohort store into another triple store through the SPARQL 1.1 Graph Store HTTP
Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/): one `PUT ?graph=IRI` per named
graph, N-Triples, over one kept-alive connection. PUT replaces the graph, so publishing
again converges instead of duplicating. Works with Oxigraph (`/store`), Fuseki
(`/DATASET/data`) and Virtuoso (`/sparql-graph-crud`).

Patient data leaves the machine here, so plain http is accepted only to a loopback host
unless the caller says otherwise (`allow_http`). The URL names the endpoint only: a user
or password in it (which would be dropped, and printed) and a `graph=` already in its
query (which would be sent twice) are refused.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import pyoxigraph as ox

from ..errors import InputRejected
from ..net import is_loopback

TIMEOUT_SECONDS = 60.0


@dataclass
class Published:
    graphs: int = 0
    triples: int = 0


def check_target(url: str, allow_http: bool = False):
    """The parsed target URL, or InputRejected saying why it is not acceptable."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise InputRejected.one("--to", "not a URL", field="URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputRejected.one("--to", f"{shown(url)!r} is not an http(s) URL of a Graph Store Protocol endpoint", field="URL")
    if parts.username is not None or parts.password is not None:
        raise InputRejected.one("--to", f"{shown(url)!r}: put no user or password in the URL (it would not be sent, and would be "
                                        "printed): use --user and $B12KG_PUBLISH_PASSWORD", field="URL")
    named = {key.lower() for key in parse_qs(parts.query, keep_blank_values=True)} & {"graph", "default"}
    if named:
        raise InputRejected.one("--to", f"{shown(url)!r} already names a graph ({', '.join(sorted(named))}=): give the Graph Store "
                                        "endpoint itself; b12kg adds graph= for each graph it publishes", field="URL")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise InputRejected.one("--to", f"{shown(url)!r} would send patient data unencrypted to another host: use https, "
                                        "or --allow-http on a network you trust", field="URL")
    return parts


def shown(url: str) -> str:
    """A URL as it may be printed: any user and password left out."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def publish(store: ox.Store, url: str, allow_http: bool = False, user: str | None = None, password: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> Published:
    """PUT every named graph of `store` to the Graph Store endpoint at `url`."""
    parts = check_target(url, allow_http)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    headers = {"Content-Type": "application/n-triples"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    base = parts.path or "/"
    separator = "&" if parts.query else "?"
    prefix = f"{base}?{parts.query}" if parts.query else base
    graphs = sorted(store.named_graphs(), key=lambda g: g.value)
    done = Published()
    try:
        for number, graph in enumerate(graphs, 1):
            triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph)]
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            connection.request("PUT", f"{prefix}{separator}graph={quote(graph.value, safe='')}", body=body, headers=headers)
            response = connection.getresponse()
            detail = response.read(2000)
            if response.status not in (200, 201, 204):
                raise InputRejected.one("--to", f"the server answered {response.status} {response.reason} to PUT graph "
                                                f"{graph.value}: {detail.decode('utf-8', 'replace')[:300]}", field="URL")
            done.graphs += 1
            done.triples += len(triples)
            if progress:
                progress(number, len(graphs))
    except OSError as exc:
        raise InputRejected.one("--to", f"cannot reach {shown(url)}: {exc}", field="URL") from None
    finally:
        connection.close()
    return done
