{#-
    Identifiable details of each reconciled child for the records team (schema restricted, which
    BI roles cannot read). Survivorship rule: int_identity__person_survivor.
-#}
{{ config(tags=['identity']) }}

select
    person_key,
    forename,
    surname,
    date_of_birth,
    sex,
    postcode,
    upn,
    upn_status,
    uln,
    nhs_number,
    ethnicity,
    field_sources,
    record_count::integer as source_record_count,
    source_systems
from {{ ref('int_identity__person_survivor') }}
