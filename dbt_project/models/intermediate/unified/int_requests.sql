{#- Casework requests for an EHC needs assessment as staged, with the requested-for child's person_key. -#}
{%- set columns = {
    'casework_request_id': 'bigint', 'casework_person_id': 'bigint', 'received_date': 'date',
    'request_source': 'smallint', 'decision_date': 'date', 'decision': 'text', 'assessment_outcome': 'text',
    'outcome_date': 'date', 'draft_issued_date': 'date', 'exception_reason': 'text',
    'transferred_in_from_la_code': 'text', 'team': 'text', 'source_updated_at': 'timestamp',
    'source_logical_date': 'date', '_row_hash': 'text'} -%}

select
    {%- for column in columns %}
    requests.{{ column }},
    {%- endfor %}
    person_keys.person_key
from {{ ref_or_empty('stg_casework__requests', columns) }} as requests
left join {{ ref('int_identity__person_keys') }} as person_keys
    on person_keys.source_system = 'casework'
    and person_keys.source_record_id = requests.casework_person_id::text
