{#-
    The exceptions of every night built: one row per exception per night (as_of_date). The
    work-queue mart fct_data_quality_exceptions derives first_seen, last_seen and status from
    the rows up to the night it is built for, so the mart itself stays a plain rebuildable table.

    A rerun of a night deletes that night's rows first (pre-hook) and writes them again from
    tonight's exceptions, so it replaces exactly that night and leaves the others alone; a
    rebuild of an old night's mart then reproduces that night's statuses. Like the person-key
    registry it ignores --full-refresh: dropping it would forget when exceptions were first seen.
-#}
{#- History kept across nights: never unlogged (a crash would empty it), unlike the models rebuilt every night. -#}
{{ config(
    materialized='incremental',
    unlogged=false,
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['as_of_date']}, {'columns': ['exception_key', 'as_of_date']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where as_of_date = {{ as_of_date() }}{% endif %}",
) }}

select
    {{ as_of_date() }} as as_of_date,
    exception_key,
    rule_code,
    severity,
    source_system,
    source_object,
    source_record_id,
    person_key,
    casework_team,
    message
from {{ ref('int_quality__exceptions_tonight') }}
