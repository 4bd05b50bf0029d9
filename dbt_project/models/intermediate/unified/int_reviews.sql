{#- Casework annual review cycles as staged, with the plan's person and the child's person_key. -#}
{%- set columns = {
    'casework_review_id': 'bigint', 'casework_plan_id': 'bigint', 'due_date': 'date', 'meeting_date': 'date',
    'decision_date': 'date', 'outcome': 'text', 'amended_plan_date': 'date',
    'source_updated_at': 'timestamp', 'source_logical_date': 'date', '_row_hash': 'text'} -%}

select
    {%- for column in columns %}
    reviews.{{ column }},
    {%- endfor %}
    plans.casework_person_id,
    person_keys.person_key
from {{ ref_or_empty('stg_casework__reviews', columns) }} as reviews
left join {{ ref_or_empty('stg_casework__plans', {'casework_plan_id': 'bigint', 'casework_person_id': 'bigint'}) }} as plans
    on plans.casework_plan_id = reviews.casework_plan_id
left join {{ ref('int_identity__person_keys') }} as person_keys
    on person_keys.source_system = 'casework'
    and person_keys.source_record_id = plans.casework_person_id::text
