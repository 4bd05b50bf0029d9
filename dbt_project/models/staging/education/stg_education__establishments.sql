with

establishments_as_of_night as (
    {{ latest_snapshot(source('education', 'establishments'), 'urn') }}
),

renamed as (
    select
        urn,
        {{ squish('name') }} as establishment_name,
        {{ clean_code('type') }} as establishment_type,
        {{ clean_code('phase') }} as phase,
        {{ clean_code('la_code') }} as la_code,
        _logical_date as source_logical_date,
        _row_hash
    from establishments_as_of_night
)

select * from renamed
