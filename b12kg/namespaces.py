"""The namespaces of b12kg's vocabularies and named graphs."""

from rdflib import Namespace

GM = Namespace("https://w3id.org/b12kg/model#")
PT = Namespace("https://w3id.org/b12kg/patient#")
RULE = Namespace("https://w3id.org/b12kg/rule/")
PROV = Namespace("http://www.w3.org/ns/prov#")
DATA = "https://w3id.org/b12kg/data/"

GRAPH = Namespace("https://w3id.org/b12kg/graph/")
ONTOLOGY_GRAPH = GRAPH["ontology"]
ASSERTED_GRAPH = GRAPH["asserted"]
INFERRED_GRAPH = GRAPH["inferred"]
CONCLUDED_GRAPH = GRAPH["concluded"]
PROVENANCE_GRAPH = GRAPH["provenance"]
ASSESSMENT_GRAPH = GRAPH["assessment"]
IGNORED_GRAPH = GRAPH["ignored"]
CITED_GRAPH = GRAPH["cited-guideline"]

PREFIXES = {
    "gm": str(GM), "pt": str(PT), "rule": str(RULE), "prov": str(PROV),
    "skos": "http://www.w3.org/2004/02/skos/core#", "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#", "dct": "http://purl.org/dc/terms/",
    "graph": str(GRAPH),
}
