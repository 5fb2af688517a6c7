"""The reference reasoners, on rdflib terms: `reasonable` (OWL 2 RL in Rust), `owlrl` (OWL 2 RL
in pure Python, the W3C rules) and HermiT (OWL 2 DL, Java). Each takes the ontology's
axioms and one chunk's facts and returns the new triples (reason.readable filters them);
the default backend (compiled.py) must equal `reasonable` (tests/test_reason.py)."""

from __future__ import annotations

from collections.abc import Iterable

import rdflib
from rdflib import RDF, XSD, Literal

from . import DEFAULT, Triple, axioms


class ReasonableReasoner:
    """OWL 2 RL materialisation with `reasonable` (Rust)."""

    name = "reasonable"

    def __init__(self, ontology: rdflib.Graph):
        import reasonable

        self._module = reasonable
        self._tbox_file = _private_turtle(axioms(ontology))
        """The TBox as N-Triples in a private temporary file (removed at process exit): the
        reasoner parses it in Rust on every call, 15 ms faster than handing it 2,000
        rdflib triples, which matters most for a record assessed alone."""
        self._tbox_closure = set(self._run([]))

    def _run(self, facts: list[Triple]) -> list[Triple]:
        reasoner = self._module.PyReasoner()
        try:
            reasoner.load_file(self._tbox_file)
            if facts:
                reasoner.from_graph(facts)
            return reasoner.reason()
        finally:
            # Freed here, in the thread that made it: a PyReasoner dropped on another thread is
            # never freed (PyO3 "unsendable"). That happened on Dask workers, whose profiler holds
            # the task thread's frames and let go of them on its event-loop thread: every task
            # leaked its reasoner (the Dask run's memory grew 170 kB per chunk).
            del reasoner

    def infer(self, facts: Iterable[Triple]) -> set[Triple]:
        facts = list(facts)
        return set(self._run(facts)) - self._tbox_closure - set(facts)


TBOX_FOLDER_PREFIX = "b12kg-tbox-"


def _private_turtle(triples: list[Triple]) -> str:
    """Write triples to a new file only this user can read, in a new private directory
    (N-Triples, named .ttl: reasonable's loader picks its parser by extension). The
    directory is removed at exit; one left by a process that was killed (a batch worker
    over its time budget) is removed by the next b12kg process of the same user."""
    import atexit
    import os
    import tempfile

    _remove_orphans()
    folder = tempfile.mkdtemp(prefix=f"{TBOX_FOLDER_PREFIX}{os.getpid()}-")  # mode 0700, unpredictable name
    atexit.register(_remove_if_owner, folder, os.getpid())
    path = f"{folder}/tbox.ttl"
    graph = rdflib.Graph(bind_namespaces="none")
    for triple in triples:
        graph.add(triple)
    with open(path, "xb") as handle:
        handle.write(graph.serialize(format="nt", encoding="utf-8"))
    return path


def _remove_orphans() -> None:
    """Remove this user's TBox folders whose process is gone."""
    import os
    import shutil
    import tempfile

    root = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(root) if n.startswith(TBOX_FOLDER_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(TBOX_FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        path = os.path.join(root, name)
        try:
            mine = os.lstat(path).st_uid == os.getuid()
            os.kill(int(pid), 0)  # signal 0: is the process there?
            alive = True
        except ProcessLookupError:
            alive = False
        except OSError:  # not ours to look at, or gone
            continue
        if mine and not alive:
            shutil.rmtree(path, ignore_errors=True)


def _remove_if_owner(folder: str, owner: int) -> None:
    """Remove the folder at exit of the process that made it (a forked worker leaves it)."""
    import os
    import shutil

    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


class OwlrlReasoner:
    """OWL 2 RL materialisation with `owlrl` (pure Python, the W3C reference rules)."""

    name = "owlrl"

    def __init__(self, ontology: rdflib.Graph):
        import owlrl

        self._owlrl = owlrl
        self._tbox = axioms(ontology)
        closure = rdflib.Graph()
        for t in self._tbox:
            closure.add(t)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
        self._tbox_closure = set(closure)

    def infer(self, facts: Iterable[Triple]) -> set[Triple]:
        graph = rdflib.Graph()
        for t in self._tbox:
            graph.add(t)
        facts = set(facts)
        for t in facts:
            graph.add(t)
        self._owlrl.DeductiveClosure(self._owlrl.OWLRL_Semantics).expand(graph)
        # owlrl's generalised RDF can put literals in subject position: not RDF, dropped.
        return {t for t in graph if not isinstance(t[0], Literal)} - self._tbox_closure - facts


class HermitReasoner:
    """OWL 2 DL realisation with owlready2 + HermiT (Java): class memberships only."""

    name = "hermit"

    def __init__(self, ontology: rdflib.Graph):
        import shutil

        if shutil.which("java") is None:
            from ..errors import EnvironmentProblem

            raise EnvironmentProblem("--reasoner hermit needs Java, and no `java` command was found on PATH: install a Java "
                                     "runtime (e.g. `apt-get install default-jre-headless`), or leave out --reasoner to use "
                                     f"the default reasoner, {DEFAULT}, which needs no Java")
        # HermiT accepts only the OWL 2 datatype map (no xsd:date or durations): the
        # classification needs object properties only, so datatype ranges are left out.
        self._tbox = [t for t in axioms(ontology) if not str(t[2]).startswith(str(XSD))]

    def infer(self, facts: Iterable[Triple]) -> set[Triple]:
        import os
        import tempfile

        import owlready2

        facts = [t for t in facts if not isinstance(t[2], Literal)]
        graph = rdflib.Graph()
        for t in self._tbox + facts:
            graph.add(t)
        individuals = {s for s, p, o in facts if p == RDF.type} | {o for s, p, o in facts if isinstance(o, rdflib.URIRef) and p != RDF.type}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "kb.nt")
            graph.serialize(path, format="nt", encoding="utf-8")
            world = owlready2.World()
            onto = world.get_ontology("file://" + path).load(format="ntriples")
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
            inferred: set[Triple] = set()
            unions = [(cls, {getattr(m, "iri", None) for m in eq.Classes})
                      for cls in world.classes() for eq in cls.equivalent_to if isinstance(eq, owlready2.Or)]
            for individual in individuals:
                entity = world[str(individual)]
                if entity is None or not hasattr(entity, "is_a"):
                    continue
                for iri in _named_superclasses(entity.is_a, unions):
                    inferred.add((individual, RDF.type, rdflib.URIRef(iri)))
        return inferred - set(facts)


def _named_superclasses(classes, unions: list[tuple[object, set]]) -> set[str]:
    """IRIs of the named classes above `classes`, through subclass axioms, the conjuncts
    of equivalent intersections and the named unions containing one of them
    (owlready2 keeps only the most specific types)."""
    import owlready2

    seen: set[str] = set()
    todo = list(classes)
    while True:
        _walk(todo, seen, owlready2)
        todo = [union for union, members in unions if union.iri not in seen and members & seen]
        if not todo:
            return seen


def _walk(todo: list, seen: set[str], owlready2) -> None:
    while todo:
        cls = todo.pop()
        if isinstance(cls, owlready2.And):
            todo.extend(cls.Classes)
            continue
        iri = getattr(cls, "iri", None)
        if iri is None or iri in seen:
            continue
        seen.add(iri)
        todo.extend(getattr(cls, "is_a", []))
        todo.extend(eq for eq in getattr(cls, "equivalent_to", []) if not isinstance(eq, owlready2.Or))
