{#- One row per source person record: the person_key it resolved to and the evidence that joined it. -#}

select
    person_key,
    source_system,
    source_record_id,
    link_rule,
    link_confidence,
    cluster_size::integer as records_in_person,
    is_within_system_duplicate,
    key_assigned_on,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_identity__person_keys') }}
