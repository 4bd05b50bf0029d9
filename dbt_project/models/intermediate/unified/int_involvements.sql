{#- Social care involvements (CIN, CP, CLA, EH) as staged, with the child's person_key. -#}
{%- set columns = {
    'socialcare_child_id': 'text', 'involvement_number': 'integer', 'involvement_type': 'text',
    'start_date': 'date', 'end_date': 'date', 'team': 'text', 'source_updated_at': 'timestamptz',
    'source_logical_date': 'date', '_row_hash': 'text'} -%}

select
    {%- for column in columns %}
    involvements.{{ column }},
    {%- endfor %}
    person_keys.person_key
from {{ ref_or_empty('stg_socialcare__involvements', columns) }} as involvements
left join {{ ref('int_identity__person_keys') }} as person_keys
    on person_keys.source_system = 'socialcare'
    and person_keys.source_record_id = involvements.socialcare_child_id
