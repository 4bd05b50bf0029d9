with

plans_as_of_night as (
    {{ latest_version(source('casework', 'cw_plan'), 'plan_id') }}
),

renamed as (
    select
        plan_id as casework_plan_id,
        person_id as casework_person_id,
        request_id as casework_request_id,
        issued_date,
        {{ clean_code('primary_need') }} as primary_need,
        {{ clean_code('secondary_need') }} as secondary_need,
        named_urn,
        {{ clean_code('named_setting_code') }} as named_setting_code,
        ceased_date,
        cease_reason,
        updated_at as source_updated_at,
        _logical_date as source_logical_date,
        _row_hash
    from plans_as_of_night
)

select * from renamed
