with

placements_as_of_night as (
    {{ latest_snapshot(source('education', 'placements'), 'placement_id') }}
),

renamed as (
    select
        {{ clean_text('placement_id') }} as placement_id,
        {{ clean_code('pupil_ref') }} as pupil_ref,
        urn,
        {{ clean_code('setting_code') }} as setting_code,
        start_date,
        end_date,
        {{ clean_code('end_reason') }} as end_reason,
        hours_per_week,
        {{ clean_code('is_dual_registration') }} as is_dual_registration,
        _logical_date as source_logical_date,
        _row_hash
    from placements_as_of_night
)

select * from renamed
