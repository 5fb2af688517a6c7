"""FHIR Clinical Reasoning served by b12kg: common.py (FHIR JSON answers, OperationOutcomes,
CapabilityStatements), apply.py (on the CDS service: the PlanDefinition, its Library and
ActivityDefinitions, $data-requirements and $apply) and measures.py (on the cohort's SPARQL
endpoint: Measures, $evaluate-measure and $care-gaps over the cohort store)."""
