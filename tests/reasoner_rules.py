"""A small ontology using every OWL 2 RL construct reasonable reasons with, and facts for each
(tests/test_reason.py::test_compiled_equals_reasonable_on_every_rule)."""

ONTOLOGY = """
@prefix : <urn:t#> . @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
:A rdfs:subClassOf :B . :B rdfs:subClassOf :C . :C owl:equivalentClass :D .
:p rdfs:domain :A ; rdfs:range :E ; rdfs:subPropertyOf :q . :q owl:equivalentProperty :r .
:inv owl:inverseOf :p . :sym a owl:SymmetricProperty . :tr a owl:TransitiveProperty .
:f a owl:FunctionalProperty . :g a owl:InverseFunctionalProperty .
:dp rdfs:range xsd:decimal ; rdfs:domain :Measured . :dp2 rdfs:subPropertyOf :dp .
:I owl:intersectionOf (:A :F) . :U owl:unionOf (:E :G) .
:HV owl:equivalentClass [ a owl:Restriction ; owl:onProperty :code ; owl:hasValue :c1 ] .
:SV owl:equivalentClass [ a owl:Restriction ; owl:onProperty :has ; owl:someValuesFrom :Code ] .
:ST owl:equivalentClass [ a owl:Restriction ; owl:onProperty :any ; owl:someValuesFrom owl:Thing ] .
:AV rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :all ; owl:allValuesFrom :Target ] .
:c2 a :Code . :Code rdfs:subClassOf :Coded .
:SVD owl:equivalentClass [ a owl:Restriction ; owl:onProperty :dp ; owl:someValuesFrom xsd:decimal ] .
"""

FACTS = {
    "classes": ":x a :A ; :p :y . :z a :F ; a :A . :w a :G .",
    "properties": ":x :p :y ; :dp2 '1.50'^^xsd:decimal ; :tr :t1 . :t1 :tr :t2 . :t2 :tr :t3 . :s1 :sym :s2 . :y :inv :v .",
    "restrictions": ":u :code :c1 ; :has :c2 ; :any :k ; :all :m . :u a :AV . :h a :HV .",
    "functional": ":a :f :b1 , :b2 . :b1 :label :l1 . :b2 :name 'two' . :n :g :o1 . :n2 :g :o2 .",
    "functional-literals": ":a :f '1' , '2' . :a :other '1' .",
    "same": ":a <http://www.w3.org/2002/07/owl#sameAs> :b . :b :p :c . :d :q :a . :a a :A .",
    "schema": ":k <http://www.w3.org/2000/01/rdf-schema#subClassOf> :A . :j a :k .",
    "container": ":bag <http://www.w3.org/1999/02/22-rdf-syntax-ns#_1> :e1 .",
    "list": (":L <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> :A ; "
             "<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> ."),
    "blank": "[] :p :y ; a :F . :x :all [ a :Target ] .",
    "lang": ":x :p :y ; :q 'hello'@en ; :dp2 '01'^^xsd:integer .",
}

CLASSIFIED = [  # (subject, predicate, lexical form, datatype) made by a SPARQL rule: lexical forms rdflib rewrites
    ("x", "dp2", "1.50", "decimal"), ("x", "other", "2.0", "decimal"), ("y", "p", "+3", "integer"),
    ("a", "f", "1", "integer"), ("a", "f", "2", "integer"), ("b", "p", "01", "integer"), ("c", "f", "01", "integer"),
    ("c", "f", "+1", "integer"),
]
