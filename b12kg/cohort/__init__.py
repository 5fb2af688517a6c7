"""The cohort knowledge graph: many assessments in one on-disk store, population queries
over it, a read-only SPARQL endpoint, publishing to other triple stores, and a cohort page."""
