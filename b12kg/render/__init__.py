"""Renderings of an assessment set, each a function of (set or patient view, knowledge): the
contract JSON (contract.py, guidelines.py), RDF (rdf.py), FHIR, the PlanDefinition and the
explanation."""
