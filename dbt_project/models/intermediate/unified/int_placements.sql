{#- Education placements as staged, with the pupil's person_key. -#}
{%- set columns = {
    'placement_id': 'text', 'pupil_ref': 'text', 'urn': 'bigint', 'setting_code': 'text', 'start_date': 'date',
    'end_date': 'date', 'end_reason': 'text', 'hours_per_week': 'numeric', 'is_dual_registration': 'text',
    'source_logical_date': 'date', '_row_hash': 'text'} -%}

select
    {%- for column in columns %}
    placements.{{ column }},
    {%- endfor %}
    person_keys.person_key
from {{ ref_or_empty('stg_education__placements', columns) }} as placements
left join {{ ref('int_identity__person_keys') }} as person_keys
    on person_keys.source_system = 'education'
    and person_keys.source_record_id = placements.pupil_ref
