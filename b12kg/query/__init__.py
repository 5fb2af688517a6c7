"""User SPARQL: parsed, checked and run by one engine that cannot reach the network.

A user query (``b12kg query``, the SPARQL endpoint) is untrusted text. It is parsed once
by rdflib's SPARQL 1.1 parser into an algebra; the checks (no update, no SERVICE, no
FROM / FROM NAMED, no LOAD) read that algebra, and the *same* algebra object is what
runs. There is no second parser whose reading of escapes, comments or strings could
differ from the check's (issue 14: ``"x\\u0022 # "`` hid a SERVICE from a text check
that pyoxigraph then ran).

The evaluation itself is made incapable of reaching out, whatever the algebra holds:

- it runs in a forked child process, stopped when it passes its time limit;
- in that child an audit hook refuses every socket connect, name lookup, urllib
  request and subprocess (audit hooks cannot be removed once set);
- rdflib's SERVICE evaluation is replaced by a refusal (a custom evaluation hook), and
  rdflib never loads FROM graphs (``SPARQL_LOAD_GRAPHS`` is off);
- the child's CPU time and address space are capped by setrlimit as a backstop.

pyoxigraph, which *does* run SERVICE over the network and has no switch to turn it
off, never sees user text: it only runs b12kg's own packaged queries.

Limits (``QueryLimits``): query size, wall time, rows (or triples) returned, bytes of
the answer. Each exceeded limit is reported as rejected input (exit 2) with a message.

For a server (``answer_user_query``) the answer is serialised in the same sandboxed
child, into a buffer capped at ``max_answer_bytes`` (refused at once when the literals
alone would pass it), and streamed back in chunks under one deadline: rows sharing one
large literal cannot make the server write more than the cap, and the server holds one
chunk at a time, whatever the query.
"""

from .answer import Answer, answer_user_query
from .prepare import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    QueryLimitExceeded,
    QueryLimits,
    QueryRefused,
    UserQuery,
    prepare_user_query,
    read_query_file,
)
from .results import AnswerTooLarge, serialize_result, write_result
from .sandbox import QuadsSource, StoreSource, run_user_query

__all__ = ["GRAPH_FORMATS", "RESULT_FORMATS", "Answer", "AnswerTooLarge", "QuadsSource", "QueryLimitExceeded", "QueryLimits",
           "QueryRefused", "StoreSource", "UserQuery", "answer_user_query", "prepare_user_query", "read_query_file",
           "run_user_query", "serialize_result", "write_result"]
