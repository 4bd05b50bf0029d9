{#-
    Survivorship: one row per person_key with the identifying values its records agree on
    best. Each field is taken from one of the person's records that holds a value, ranked by
      1. validated identifiers beat invalid ones: for UPN, NHS number and ULN the value's own
         check (a valid permanent UPN, then a valid temporary UPN, then a wrong check letter,
         then a malformed one); for every other field, records carrying a valid UPN, NHS
         number or ULN beat records carrying none (a record keyed from a checked identifier
         is the more carefully kept). Sex: a known M/F beats U first; postcode: a value shaped
         like a postcode beats one that is not.
      2. recency: the record's last update (casework and social care updated_at; education:
         the night the pupil row's current version first arrived, int_identity__pupil_versions);
      3. per-field source priority (below), then the lowest record_uid, so the choice is
         deterministic.
    Identifiable: feeds restricted.person_identifiable and the pseudonymous parts of dim_person.
-#}
{%- set fields = {
    'forename':      {'value': 'forename', 'rank': 'has_valid_identifier::int', 'priority': ['education', 'casework', 'socialcare']},
    'surname':       {'value': 'surname', 'rank': 'has_valid_identifier::int', 'priority': ['education', 'casework', 'socialcare']},
    'date_of_birth': {'value': 'date_of_birth', 'rank': 'has_valid_identifier::int', 'priority': ['education', 'casework', 'socialcare']},
    'sex':           {'value': 'sex', 'rank': "(sex in ('M', 'F'))::int * 2 + has_valid_identifier::int", 'priority': ['education', 'casework', 'socialcare']},
    'postcode':      {'value': 'postcode', 'rank': '(postcode_compact is not null)::int * 2 + has_valid_identifier::int', 'priority': ['socialcare', 'casework', 'education']},
    'upn':           {'value': 'upn', 'rank': "case upn_status when 'valid' then 3 when 'temporary' then 2 when 'check_letter' then 1 else 0 end", 'priority': ['education', 'casework', 'socialcare']},
    'uln':           {'value': 'uln', 'rank': 'uln_valid::int', 'priority': ['education', 'casework', 'socialcare']},
    'nhs_number':    {'value': 'nhs_number', 'rank': 'nhs_valid::int', 'priority': ['socialcare', 'casework', 'education']},
    'ethnicity':     {'value': 'ethnicity', 'rank': 'has_valid_identifier::int', 'priority': ['casework', 'education', 'socialcare']},
} -%}

with

record_counts as (
    select person_key, count(*) as record_count
    from {{ ref('int_identity__person_keys') }}
    group by person_key
),

records as (
    select
        person_keys.person_key,
        record_counts.record_count,
        records.*,
        (records.upn_link_valid or records.nhs_valid or records.uln_valid) as has_valid_identifier
    from {{ ref('int_identity__person_records') }} as records
    inner join {{ ref('int_identity__person_keys') }} as person_keys on person_keys.record_uid = records.record_uid
    inner join record_counts on record_counts.person_key = person_keys.person_key
),

-- A person of one record (most pupils) takes that record's values; only the others are ranked.
ranked_records as (
    select * from records where record_count > 1
),

persons as (
    select
        person_key,
        count(*) as record_count,
        string_agg(distinct source_system, ',' order by source_system) as source_systems
    from ranked_records
    group by person_key
),

{% for field, spec in fields.items() %}
survivor_{{ field }} as (
    select distinct on (person_key)
        person_key,
        {{ spec.value }} as value,
        record_uid
    from ranked_records
    where {{ spec.value }} is not null
    order by
        person_key,
        {{ spec.rank }} desc,
        last_updated_on desc nulls last,
        case source_system {% for system in spec.priority %}when '{{ system }}' then {{ loop.index }} {% endfor %}end,
        record_uid
),
{% endfor %}

merged as (
    select
        persons.person_key,
        {%- for field in fields %}
        survivor_{{ field }}.value as {{ field }},
        {%- endfor %}
        jsonb_strip_nulls(jsonb_build_object(
            {%- for field in fields %}
            '{{ field }}', survivor_{{ field }}.record_uid{% if not loop.last %},{% endif %}
            {%- endfor %}
        )) as field_sources,
        persons.record_count,
        persons.source_systems
    from persons
    {%- for field in fields %}
    left join survivor_{{ field }} on survivor_{{ field }}.person_key = persons.person_key
    {%- endfor %}
),

single as (
    select
        person_key,
        {%- for field, spec in fields.items() %}
        {{ spec.value }} as {{ field }},
        {%- endfor %}
        jsonb_strip_nulls(jsonb_build_object(
            {%- for field, spec in fields.items() %}
            '{{ field }}', case when {{ spec.value }} is not null then record_uid end{% if not loop.last %},{% endif %}
            {%- endfor %}
        )) as field_sources,
        record_count,
        source_system as source_systems
    from records
    where record_count = 1
),

final as (
    select *, {{ upn_status('upn') }} as upn_status from merged
    union all
    select *, {{ upn_status('upn') }} as upn_status from single
)

select
    person_key,
    {%- for field in fields %}
    {{ field }},
    {%- endfor %}
    upn_status,
    field_sources,
    record_count,
    source_systems
from final
