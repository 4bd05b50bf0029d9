{#- Casework EHC plans as staged, with the child's person_key. -#}
{%- set columns = {
    'casework_plan_id': 'bigint', 'casework_person_id': 'bigint', 'casework_request_id': 'bigint',
    'issued_date': 'date', 'primary_need': 'text', 'secondary_need': 'text', 'named_urn': 'bigint',
    'named_setting_code': 'text', 'ceased_date': 'date', 'cease_reason': 'smallint',
    'source_updated_at': 'timestamp', 'source_logical_date': 'date', '_row_hash': 'text'} -%}

select
    {%- for column in columns %}
    plans.{{ column }},
    {%- endfor %}
    person_keys.person_key
from {{ ref_or_empty('stg_casework__plans', columns) }} as plans
left join {{ ref('int_identity__person_keys') }} as person_keys
    on person_keys.source_system = 'casework'
    and person_keys.source_record_id = plans.casework_person_id::text
