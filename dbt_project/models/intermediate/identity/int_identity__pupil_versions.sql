{#-
    When each version of a pupil record first arrived: one row per (pupil_ref, row_hash) with the
    first night it was seen. The education export is a full snapshot with no change time, so this
    is how survivorship knows how recent an education record's details are (casework and social
    care carry updated_at).

    Incremental: each night adds the versions not seen on an earlier night; a rerun of a night
    replaces that night's rows (pre-hook), so old nights reproduce. The first build reads the
    landed history (raw pupils up to as_of_date) to date the versions it starts with.
-#}
{#- History kept across nights: never unlogged (a crash would empty it), unlike the models rebuilt every night. -#}
{{ config(
    materialized='incremental',
    unlogged=false,
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['pupil_ref', 'row_hash']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where first_seen_on = {{ as_of_date() }}{% endif %}",
) }}

with

tonight as (
    select pupil_ref, _row_hash as row_hash
    from {{ ref_or_empty('stg_education__pupils', {'pupil_ref': 'text', '_row_hash': 'text'}) }} as pupils
),

{% if is_incremental() %}
new_versions as (
    select tonight.pupil_ref, tonight.row_hash, {{ as_of_date() }} as first_seen_on
    from tonight
    where not exists (
        select 1
        from {{ this }} as seen
        where seen.pupil_ref = tonight.pupil_ref
          and seen.row_hash = tonight.row_hash
          and seen.first_seen_on < {{ as_of_date() }}
    )
)
{% else %}
landed as (
    select _row_hash as row_hash, min(_logical_date) as first_landed_on
    from {{ source('education', 'pupils') }}
    where _logical_date <= {{ as_of_date() }}
    group by _row_hash
),

new_versions as (
    select tonight.pupil_ref, tonight.row_hash, coalesce(landed.first_landed_on, {{ as_of_date() }}) as first_seen_on
    from tonight
    left join landed on landed.row_hash = tonight.row_hash
)
{% endif %}

select pupil_ref, row_hash, first_seen_on from new_versions
